import warnings

# NOTE: oslo.messaging imports oslo.service, which imports eventlet; eventlet
# warns on import that it is deprecated. This project never uses eventlet
# (native threads only), so the warning would only confuse operators running
# our commands.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
