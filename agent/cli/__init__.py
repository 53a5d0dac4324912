"""The shopdesk command and its subcommands, the terminal chat client."""
