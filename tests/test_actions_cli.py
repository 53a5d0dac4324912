"""`shopdesk orders import` and `shopdesk actions list|call`: exit codes and JSON shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_builtin_actions import ADA, BOB, DEMO_POLICY, ORDERS, ROOT

from agent.cli.main import cli

NOW = "2026-03-20T12:00:00-04:00"


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Runs `shopdesk` in-process against a fresh SQLite data dir holding the test orders."""
    for name in ("SHOPDESK_DATABASE_URL", "SHOPDESK_ACTIONS", "SHOPDESK_NOW", "SHOPDESK_DATA"):
        monkeypatch.delenv(name, raising=False)
    orders = tmp_path / "orders.json"
    orders.write_text(json.dumps(ORDERS))
    data = tmp_path / "data"

    def run(*args: str, now: str = NOW, extra: tuple[str, ...] = ()):
        base = ["--data", str(data), "--policy", str(DEMO_POLICY), "--now", now, *extra]
        return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)

    result = run("orders", "import", str(orders), "--json")
    assert result.exit_code == 0, result.output
    run.orders = orders  # type: ignore[attr-defined]
    return run


def test_orders_import_prints_a_json_report_and_is_idempotent(shop) -> None:
    result = shop("orders", "import", str(shop.orders), "--json")
    report = json.loads(result.stdout)
    assert report["orders"] == 5 and report["unchanged"] == 5 and report["created"] == 0


def test_bad_orders_file_lists_every_problem_and_imports_nothing(shop, tmp_path: Path) -> None:
    bad = copy.deepcopy(ORDERS)
    bad["orders"][0]["customer"]["email"] = "not-an-email"
    bad["orders"][2]["items"][1]["quantity"] = 0
    bad["orders"][1]["id"] = "WK-2002"  # would be new if anything were imported
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = shop("orders", "import", str(path), "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["error"] == "invalid_orders"
    problems = "\n".join(out["problems"])
    assert "orders[0].customer.email" in problems
    assert "orders[2].items[1].quantity" in problems
    human = shop("orders", "import", str(path))
    assert human.exit_code == 1 and "orders[0].customer.email" in human.stderr
    lookup = shop(
        "actions",
        "call",
        "lookup_order",
        "--args",
        json.dumps({"order_id": "WK-2002", "email": ADA}),
    )
    assert lookup.exit_code == 1


def test_actions_list_json_has_names_flags_and_schemas(shop) -> None:
    listed = json.loads(shop("actions", "list", "--json").stdout)
    by_name = {a["name"]: a for a in listed}
    assert set(by_name) == {
        "lookup_order",
        "list_my_orders",
        "check_eligibility",
        "create_return_authorization",
        "generate_label",
        "get_return_status",
        "fetch_tracking",
        "capture_lead",
    }
    create = by_name["create_return_authorization"]
    assert (create["confirm"], create["identity"]) == (True, True)
    assert create["parameters"]["required"] == ["order_id", "lines", "reason"]
    assert create["examples"] and create["description"]
    assert "message" in create["result"]["properties"]
    assert "check_eligibility" in shop("actions", "list").stdout


def test_call_as_a_verified_customer_prints_the_result(shop) -> None:
    args = json.dumps({"order_id": "WK-1001", "sku": "BOWL-01", "quantity": 2})
    result = shop(
        "actions", "call", "check_eligibility", "--args", args, "--customer", ADA, "--json"
    )
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["order_id"] == "WK-1001"
    line = out["lines"][0]
    assert line["eligible"] is True and line["refund_amount"] == "25.00"
    assert line["deadline"] == "2026-04-09"
    assert out["message"].startswith("2 × Stoneware Bowl can be returned")


def test_clock_override_is_honoured(shop) -> None:
    args = json.dumps({"order_id": "WK-1001", "sku": "BOWL-01"})
    late = shop(
        "actions", "call", "check_eligibility", "--args", args, "--customer", ADA, "--json",
        now="2026-04-10T09:00:00-04:00",
    )  # fmt: skip
    assert json.loads(late.stdout)["lines"][0]["reason_code"] == "outside_window"


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["check_eligibility", "--args", '{"order_id": "WK-1001"}'], "identity_required"),
        (["teleport"], "unknown_action"),
        (["check_eligibility", "--args", "{nope", "--customer", ADA], "invalid_arguments"),
        (["check_eligibility", "--args", '{"order_id": 1, "x": 2}', "--customer", ADA], "invalid_arguments"),
        (["check_eligibility", "--args", '{"order_id": "WK-1003"}', "--customer", ADA], "order_not_found"),
        (["lookup_order", "--args", json.dumps({"order_id": "WK-1003", "email": ADA})], "order_not_found"),
    ],
)  # fmt: skip
def test_failed_call_prints_error_json_and_exits_non_zero(shop, argv, code) -> None:
    result = shop("actions", "call", *argv, "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["error"] == code and out["message"]


def test_failed_call_without_json_goes_to_stderr(shop) -> None:
    result = shop("actions", "call", "fetch_tracking", "--args", '{"order_id": "WK-1001"}')
    assert result.exit_code == 1 and "identity_required" in result.stderr


def test_batch_runs_one_call_per_line_in_one_process(shop, tmp_path: Path) -> None:
    lines = [
        {"name": "lookup_order", "args": {"order_id": "WK-1003", "email": BOB}},
        {"name": "check_eligibility", "args": {"order_id": "WK-1001"}, "customer": ADA},
        {"name": "check_eligibility", "args": {"order_id": "WK-1001"}},
        {"name": "nope", "args": {}},
    ]
    body = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n\n"
    batch = tmp_path / "calls.jsonl"
    batch.write_text(body)
    result = shop("actions", "call", "--batch", str(batch), "--json")
    assert result.exit_code == 0
    outs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outs) == 5
    assert outs[0]["order_id"] == "WK-1003"
    assert len(outs[1]["lines"]) == 2
    assert outs[2]["error"] == "identity_required"
    assert outs[3]["error"] == "unknown_action"
    assert outs[4]["error"] == "invalid_request"


def test_confirmed_return_then_label_from_the_shell(shop) -> None:
    # Bowls go back by parcel (the demo's furniture is collected by freight: no label).
    args = {"order_id": "WK-1001", "lines": [{"sku": "BOWL-01", "quantity": 2}], "reason": "wrong_size"}  # fmt: skip
    created = shop(
        "actions", "call", "create_return_authorization", "--args", json.dumps(args),
        "--customer", ADA, "--json",
    )  # fmt: skip
    rma = json.loads(created.stdout)
    assert rma["status"] == "approved" and rma["refund_total"] == "25.00"
    label = shop(
        "actions", "call", "generate_label", "--args", json.dumps({"rma_id": rma["rma_id"]}),
        "--customer", ADA, "--json",
    )  # fmt: skip
    assert json.loads(label.stdout)["label_url"].endswith(".pdf")


def test_name_and_batch_together_are_refused(shop, tmp_path: Path) -> None:
    batch = tmp_path / "b.jsonl"
    batch.write_text("")
    assert shop("actions", "call", "lookup_order", "--batch", str(batch)).exit_code == 2
    assert shop("actions", "call").exit_code == 2


# The example custom action -------------------------------------------------------------------
CUSTOM = str(ROOT / "examples" / "custom_actions.py")


def test_custom_action_loads_with_the_actions_option_and_runs(shop) -> None:
    listed = json.loads(shop("actions", "list", "--json", extra=("--actions", CUSTOM)).stdout)
    gift = next(a for a in listed if a["name"] == "gift_card_balance")
    assert gift["parameters"]["properties"]["code"]["description"].startswith("The code printed")
    assert (gift["confirm"], gift["identity"]) == (False, False)
    result = shop(
        "actions", "call", "gift_card_balance", "--args", '{"code": "gift-2468-1357"}', "--json",
        extra=("--actions", CUSTOM),
    )  # fmt: skip
    assert json.loads(result.stdout) == {
        "message": "Gift card GIFT-2468-1357 has $25.00 left.",
        "code": "GIFT-2468-1357",
        "balance": "25.00",
    }
    missing = shop(
        "actions", "call", "gift_card_balance", "--args", '{"code": "nope"}', "--json",
        extra=("--actions", CUSTOM),
    )  # fmt: skip
    assert missing.exit_code == 1
    assert json.loads(missing.stdout)["error"] == "gift_card_not_found"


def test_broken_actions_module_is_reported_naming_the_function(shop, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text(
        "from actions import action, ActionContext, ActionResult\n"
        "@action\n"
        "def not_async(ctx: ActionContext) -> ActionResult:\n"
        "    'Doc.'\n"
    )
    result = shop("actions", "list", extra=("--actions", str(broken)))
    assert result.exit_code == 2
    assert "not_async" in result.stderr and "async def" in result.stderr


def test_an_action_that_crashes_is_reported_and_the_batch_goes_on(shop, tmp_path: Path) -> None:
    module = tmp_path / "buggy.py"
    module.write_text(
        "from actions import action, ActionContext, ActionResult\n"
        "@action\n"
        "async def explode(ctx: ActionContext) -> ActionResult:\n"
        "    'Always fails.'\n"
        "    raise RuntimeError('boom')\n"
    )
    batch = tmp_path / "calls.jsonl"
    batch.write_text(
        '{"name": "explode"}\n{"name": "lookup_order", "args": {"order_id": "WK-1003", "email": "bob@example.com"}}\n'
    )
    result = shop(
        "actions", "call", "--batch", str(batch), "--json", extra=("--actions", str(module))
    )
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["error"] == "action_failed" and "boom" in first["message"]
    assert second["order_id"] == "WK-1003"
