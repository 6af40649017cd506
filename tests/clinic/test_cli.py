"""``itdd serve``: bad input ends with exit code 2 and one line naming the option; no traceback."""

from __future__ import annotations

import pytest

from itdd.cli import main


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["serve", "--database-url", "mysql://u@h/db"], ["--database-url", "unsupported database 'mysql'"]),
        (["serve", "--database-url", "::::"], ["--database-url"]),
        (["serve", "--port", "70000"], ["port 70000 is outside 1..65535"]),
        (["serve", "--port", "eighty"], ["'eighty' is not a port number"]),
        (
            ["serve", "--database-url", "postgresql://nobody:x@127.0.0.1:1/none", "--no-demo"],
            ["--database-url", "cannot open the database"],
        ),
    ],
)
def test_serve_refuses_bad_options_in_one_line(
    argv: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for w in words:
        assert w in err


def test_serve_is_registered() -> None:
    from itdd.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    assert args.database_url.startswith(("sqlite:///", "postgresql"))
