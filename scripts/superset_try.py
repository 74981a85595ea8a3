"""Superset, tried for real: install it in a throwaway venv under /tmp, import the bundle
(pipeline/publish/superset.py) against a serving file with `import-datasources` and then
`import-dashboards`, query every dataset through Superset's own database layer, and run every
chart of the starter dashboard through the chart data API (`GET /api/v1/chart/<id>/data/`,
logged in as the admin). Prints one line per dataset and per chart and a summary (docs/bi.md);
exits non-zero when a dataset or chart query fails.

python scripts/superset_try.py [SERVING_FILE] [--venv /tmp/buildos-superset]

Not part of CI: the install downloads Superset 6.1 and its dependencies (a few minutes).
Superset 6.1's packaging also needs rich, Flask-Caching<2.4 and cachetools; duckdb-engine is
the SQLAlchemy dialect for the serving file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["apache-superset==6.1.0", "rich", "Flask-Caching<2.4", "cachetools", "duckdb-engine"]

QUERY_EACH = """
from superset.app import create_app
app = create_app()
with app.app_context():
    from superset.connectors.sqla.models import SqlaTable
    from superset.extensions import db
    datasets = db.session.query(SqlaTable).order_by(SqlaTable.table_name).all()
    failures = 0
    for dataset in datasets:
        try:
            frame = dataset.database.get_df(
                f"select count(*) as n from {dataset.schema}.{dataset.table_name}"
            )
            described = sum(1 for c in dataset.columns if c.description)
            print(f"{dataset.table_name}: {int(frame['n'][0])} rows, {len(dataset.columns)} "
                  f"columns ({described} described), {len(dataset.metrics)} metrics")
        except Exception as error:
            failures += 1
            print(f"{dataset.table_name}: FAILED {type(error).__name__}: {error}")
    print(f"{len(datasets)} datasets queried, {failures} failed")
    raise SystemExit(1 if failures or not datasets else 0)
"""

# The dashboard as the web app serves it: its charts, then each chart's saved query through
# the chart data API, as a browser or a report would call it.
QUERY_CHARTS = """
import json
from superset.app import create_app
app = create_app()
with app.test_client() as client:
    login = client.post("/api/v1/security/login", json={
        "username": "admin", "password": "admin", "provider": "db", "refresh": False})
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    (listed,) = client.get("/api/v1/dashboard/", headers=headers).get_json()["result"]
    dashboard = client.get(f"/api/v1/dashboard/{listed['id']}", headers=headers).get_json()
    dashboard = dashboard["result"]
    charts = client.get(f"/api/v1/dashboard/{listed['id']}/charts", headers=headers)
    charts = charts.get_json()["result"]
    filters = json.loads(dashboard["json_metadata"]).get("native_filter_configuration", [])
    print(f"dashboard {dashboard['dashboard_title']!r}: {len(charts)} charts, "
          f"{len(filters)} native filters ({', '.join(f['name'] for f in filters)})")
    failures = 0
    for chart in sorted(charts, key=lambda c: c["slice_name"]):
        response = client.get(f"/api/v1/chart/{chart['id']}/data/", headers=headers)
        body = response.get_json() or {}
        results = body.get("result") or []
        if response.status_code != 200 or not results or any(r.get("error") for r in results):
            failures += 1
            print(f"{chart['slice_name']}: FAILED HTTP {response.status_code}: "
                  f"{body.get('message') or [r.get('error') for r in results]}")
            continue
        rows = sum(r["rowcount"] for r in results)
        # The chart's numbers, not just its status: each sum metric's cells add up to the
        # same aggregate over the whole view, queried directly (no filter, no row limit hit).
        with app.app_context():
            from superset.extensions import db
            from superset.models.slice import Slice
            dataset = db.session.get(Slice, chart["id"]).datasource
            expressions = {m.metric_name: m.expression for m in dataset.metrics}
            checked = []
            for metric in chart["form_data"]["metrics"]:
                if not metric.startswith("sum__"):
                    continue
                cells = [
                    value or 0
                    for row in results[0]["data"]
                    for column, value in row.items()
                    if column == metric or column.startswith(metric + ", ")
                ]
                direct = dataset.database.get_df(
                    f"select {expressions[metric]} as total "
                    f"from {dataset.schema}.{dataset.table_name}"
                )["total"][0]
                checked.append(f"{metric} {sum(cells):g} = {float(direct or 0):g}")
                if abs(sum(cells) - float(direct or 0)) > 1e-6 * max(1, abs(sum(cells))):
                    failures += 1
                    checked[-1] += " MISMATCH"
        print(f"{chart['slice_name']} ({chart['form_data'].get('viz_type')}): "
              f"HTTP 200, {rows} rows; {'; '.join(checked)}")
    print(f"{len(charts)} charts queried, {failures} failed")
    raise SystemExit(1 if failures or not charts else 0)
"""


def run(command: list[str], env: dict) -> None:
    subprocess.run(command, check=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("serving", nargs="?", default="exports/analytics.duckdb")
    parser.add_argument("--venv", default=str(Path(tempfile.gettempdir()) / "buildos-superset"))
    arguments = parser.parse_args()
    serving = Path(arguments.serving).resolve()
    venv = Path(arguments.venv)
    if not (venv / "bin" / "superset").exists():
        run([sys.executable, "-m", "venv", str(venv)], dict(os.environ))
        run([str(venv / "bin" / "pip"), "install", "--quiet", *PACKAGES], dict(os.environ))
    home = Path(tempfile.mkdtemp(prefix="buildos-superset-home-"))
    (home / "superset_config.py").write_text(
        f"SECRET_KEY = {os.urandom(24).hex()!r}\n"
        f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{home / 'superset.db'}'\n"
    )
    env = {
        **os.environ,
        "SUPERSET_CONFIG_PATH": str(home / "superset_config.py"),
        "SUPERSET_HOME": str(home),
        "FLASK_APP": "superset",
    }
    bundle = home / "buildos_bundle.zip"
    run(
        [sys.executable, "-m", "pipeline.publish.superset", str(serving), str(bundle)],
        {**env, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    superset = str(venv / "bin" / "superset")
    run([superset, "db", "upgrade"], env)
    run(
        [
            superset,
            "fab",
            "create-admin",
            "--username",
            "admin",
            "--firstname",
            "a",
            "--lastname",
            "b",
            "--email",
            "admin@localhost",
            "--password",
            "admin",
        ],
        env,
    )
    run([superset, "init"], env)  # roles and permissions: the admin may create databases
    run([superset, "import-datasources", "-p", str(bundle), "-u", "admin"], env)
    python = str(venv / "bin" / "python")
    run([python, "-c", QUERY_EACH], env)
    # The same ZIP again, as a dashboard: adds the charts and the dashboard over the datasets.
    run([superset, "import-dashboards", "-p", str(bundle), "-u", "admin"], env)
    run([python, "-c", QUERY_CHARTS], env)


if __name__ == "__main__":
    main()
