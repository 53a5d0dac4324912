"""The turn: the tool-calling loop, citations, the system prompt."""
