"""The app: the composition root (the server), settings, background tasks."""
