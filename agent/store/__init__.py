"""The conversation store: conversations, transcript, migrations."""
