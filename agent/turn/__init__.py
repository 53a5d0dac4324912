"""The turn: one shopper message answered.

Public surface: `run_turn` and `resume_turn` (loop.py, the one loop); `AgentDeps`, `Conversation`
and the callback types (deps.py); the one tool executor and the handoff tool (tools.py); `History`,
the one history normaliser (history.py); citations; prompts (render only).
"""
