"""Everything that talks to Valence, and the Valence engine extension."""
