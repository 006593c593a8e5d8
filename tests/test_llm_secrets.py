"""datagen.llm keeps the --llm-url's password out of its reports and messages (issue 28), with the
redaction --db uses (sqlcomplete.db.database.redact)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm_server import FakeLLM

from datagen import llm


def test_reports_and_errors_show_no_password(tmp_path, capsys):
    """`--llm-url http://user:pw@host/v1` (issue 28): the report and the error show the URL with
    the password as ***, the redaction --db uses."""
    with FakeLLM() as fake:
        url = fake.url.replace("://", "://user:pw-S3CRET@") + "?api_key=K3Y-S3CRET"
        assert llm.main(["--llm-url", url, "--out", str(tmp_path), "--model", "nope"]) == 2
    err = capsys.readouterr().err
    report = (tmp_path / "reports").glob("*.json")
    text = "".join(p.read_text() for p in report)
    assert "HTTP 404" in err and "user:***@" in err, err
    assert '"llm_url": "http://user:***@' in text and "api_key=***" in text, text
    assert "S3CRET" not in err + text
