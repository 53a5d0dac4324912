"""The staff console: sign-in, inbox, returns queue, knowledge editor, leads, insights."""
