"""`shopdesk chat`: the terminal client, driven from a pipe against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from agent.cli.main import cli
from tests.ws_helpers import RUNG, bell_server, bell_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    srv = bell_server(bell_settings(tmp_path_factory.mktemp("chat")))
    yield srv
    srv.stop()


def _chat(server, lines: str, *extra: str):
    runner = CliRunner()
    return runner.invoke(cli, ["chat", "--url", server.ws_url, "--no-stream", *extra], input=lines)


def _resume(output: str) -> list[str]:
    """The `--conversation ID --token TOKEN` the client prints at exit."""
    hint = output.split("(resume with: shopdesk chat ", 1)[1].split()
    assert hint[0] == "--conversation" and hint[2] == "--token"
    return hint[:4]


def test_chat_from_a_pipe_shows_answers_citations_and_asks_before_acting(server) -> None:
    result = _chat(server, "what is the returns policy?\nring 6\ny\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "agent> You said: what is the returns policy?" in out
    assert "[1] returns.md > Returns > Window" in out
    assert "confirm> Ring the shop bell 6 times." in out
    assert "✓ ring_bell: Rang the bell 6 times." in out
    assert "agent> Done: Rang the bell 6 times." in out
    assert sum(1 for _, times in RUNG if times == 6) == 1


def test_chat_answering_no_does_nothing_and_resume_shows_the_transcript(server) -> None:
    first = _chat(server, "ring 9\nn\n")
    assert first.exit_code == 0, first.output
    assert "✗ ring_bell" in first.output
    assert all(times != 9 for _, times in RUNG)
    conv = first.output.split("conversation ", 1)[1].split()[0]
    again = _chat(server, "", *_resume(first.output))
    assert again.exit_code == 0, again.output
    assert f"conversation {conv}" in again.output
    assert "you> ring 9" in again.output


def test_chat_resumes_an_unanswered_confirmation(server) -> None:
    first = _chat(server, "ring 11\n")  # input ends while the question is open
    again = _chat(server, "y\n", *_resume(first.output))
    assert again.exit_code == 0, again.output
    assert "confirm> Ring the shop bell 11 times." in again.output
    assert "✓ ring_bell: Rang the bell 11 times." in again.output


def test_chat_with_the_conversation_id_alone_resumes_nothing(server) -> None:
    first = _chat(server, "ring 13\n")
    conv = first.output.split("conversation ", 1)[1].split()[0]
    again = _chat(server, "", "--conversation", conv)
    assert again.exit_code == 0, again.output
    assert f"conversation {conv}" not in again.output and "not found" in again.output
    assert "ring 13" not in again.output and "Ring the shop bell" not in again.output


def test_chat_with_a_good_signed_identity_is_verified(server) -> None:
    result = _chat(server, "hello\n", "--email", "ana@example.com")
    assert result.exit_code == 0, result.output
    assert "error" not in result.output
