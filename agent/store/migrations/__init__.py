"""Alembic environment for the conversation store (version table `shopdesk_agent_version`)."""
