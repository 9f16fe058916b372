import pbr.version

version_info = pbr.version.VersionInfo("mogan-valence")


def version_string() -> str:
    return version_info.version_string()
