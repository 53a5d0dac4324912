"""The return portal at /returns: a form-based way to start a return, beside the chat."""
