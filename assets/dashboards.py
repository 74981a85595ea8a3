"""Dashboards: the executive dashboard (HTML and PNG, dated, plus `latest`) with its delivery,
and the "project newly at risk" events. Numbers come from the bi views only."""

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from assets.publish import bi_views
from pipeline import delivery
from pipeline.dashboard import dashboard_data, render_html, snapshot_png
from pipeline.resources import DeliverySettings, DuckDBWarehouse


def _retry(settings: DeliverySettings) -> delivery.RetryPolicy:
    return delivery.RetryPolicy(
        attempts=settings.retry_attempts, backoff_base=settings.retry_backoff_seconds
    )


def _smtp(settings: DeliverySettings) -> delivery.SmtpSettings:
    return delivery.SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        recipients=tuple(r.strip() for r in (settings.smtp_to or "").split(",") if r.strip()),
        username=settings.smtp_user,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )


SAFE_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def dashboard_accounts(con, setting: str) -> list[str]:
    """The accounts that get a dashboard of their own: none for `summary`, every account for
    `each`, else the listed ids. An id reaches a file name only once it is known and safe."""
    choice = setting.strip()
    if choice in ("", "summary"):
        return []
    known = [
        row[0]
        for row in con.execute("select account_id from bi.dim_accounts order by 1").fetchall()
    ]
    wanted = known if choice == "each" else [a.strip() for a in choice.split(",") if a.strip()]
    for account_id in wanted:
        if account_id not in known:
            raise ValueError(f"dashboard_accounts: no account {account_id!r} in the warehouse")
        if not SAFE_ACCOUNT_ID.fullmatch(account_id):
            raise ValueError(f"dashboard_accounts: account id {account_id!r} is not file-safe")
    return wanted


def _publish(folder: Path, name: str, data: dict, now: datetime) -> tuple[Path, Path | None]:
    """<name>-<date>.html/.png beside latest*.html/.png; the dated copies are the history."""
    stamp = now.strftime("%Y-%m-%d")
    html_path = folder / f"{name}-{stamp}.html"
    html_path.write_text(render_html(data, now))
    png_path: Path | None = folder / f"{name}-{stamp}.png"
    try:
        snapshot_png(html_path, png_path)
    except RuntimeError:
        png_path = None  # no Chromium here; the HTML page is complete without it
    latest = "latest" + name.removeprefix("executive")
    for source, target in ((html_path, f"{latest}.html"), (png_path, f"{latest}.png")):
        if source is not None:
            temporary = folder / f".{target}.tmp"
            shutil.copyfile(source, temporary)
            temporary.replace(folder / target)
    return html_path, png_path


def write_dashboard(
    con, folder: Path, now: datetime, accounts: str = "summary"
) -> tuple[Path, Path | None, dict]:
    """The all-accounts dashboard (executive-<date>, latest), and one per account chosen by
    `accounts` (executive-<account id>-<date>, latest-<account id>). Returns the summary's."""
    folder.mkdir(parents=True, exist_ok=True)
    for account_id in dashboard_accounts(con, accounts):
        _publish(folder, f"executive-{account_id}", dashboard_data(con, account_id), now)
    data = dashboard_data(con)
    html_path, png_path = _publish(folder, "executive", data, now)
    return html_path, png_path, data


@dg.asset(
    key=["dashboards", "executive"],
    group_name="dashboards",
    kinds={"html"},
    deps=[spec.key for spec in bi_views.specs],
)
def executive_dashboard(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, deliver: DeliverySettings
) -> dg.MaterializeResult:
    """The executive dashboard: portfolio KPIs, the velocity trend, burndown with projection
    for the most active projects, projects at risk and brain dump activity. A self-contained
    HTML page (no network) and a PNG snapshot, dated, plus latest.html / latest.png; sent to
    Slack and by e-mail when those are configured."""
    con = warehouse.connect(read_only=True)
    try:
        html_path, png_path, data = write_dashboard(
            con, Path(deliver.dashboard_dir), datetime.now(UTC), deliver.dashboard_accounts
        )
    finally:
        con.close()
    kpis = data.get("kpis", {})
    summary = (
        f"BuildOS weekly: {kpis.get('active_projects', 0)} active projects, "
        f"{kpis.get('completed_this_week', 0)} tasks done this week so far "
        f"({kpis.get('completed_same_days_last_week', 0)} on the same days last week), "
        f"{kpis.get('at_risk_projects', 0)} at risk."
    )
    sent = []
    if deliver.slack_webhook_url:
        delivery.send_slack(
            deliver.slack_webhook_url, summary, str(html_path.resolve()), _retry(deliver)
        )
        sent.append("slack")
    if deliver.smtp_host:
        attachments = (png_path,) if png_path else ()
        delivery.send_email(
            _smtp(deliver),
            "BuildOS executive dashboard",
            summary,
            html_path.read_text(),
            attachments,
        )
        sent.append("email")
    if png_path is None:
        context.log.warning("no PNG snapshot: Chromium was not found (apt-get install chromium)")
    return dg.MaterializeResult(
        metadata={
            "html": dg.MetadataValue.path(str(html_path.resolve())),
            "png": dg.MetadataValue.path(str(png_path.resolve())) if png_path else "not made",
            "summary": summary,
            "delivered_to": ", ".join(sent) or "nowhere (not configured)",
        }
    )


@dg.asset(
    key=["alerts", "projects_at_risk"],
    group_name="dashboards",
    kinds={"duckdb"},
    deps=[dg.AssetKey(["bi", "fct_project_risk"])],
    pool="shared_writer",
)
def projects_at_risk_alerts(
    warehouse: DuckDBWarehouse, deliver: DeliverySettings
) -> dg.MaterializeResult:
    """Sends a signed `project.at_risk` event for each project that became at risk since the
    last run (meta.projects_at_risk remembers who was flagged; a project that recovers and
    slips again is announced again)."""
    con = warehouse.connect()
    try:
        newly = newly_at_risk(con)
        sent = 0
        if deliver.events_webhook_url and deliver.events_webhook_secret:
            for project in newly:
                delivery.send_event(
                    deliver.events_webhook_url,
                    deliver.events_webhook_secret,
                    "project.at_risk",
                    project,
                    _retry(deliver),
                )
                sent += 1
        remember_at_risk(con)
    finally:
        con.close()
    return dg.MaterializeResult(metadata={"newly_at_risk": len(newly), "events_sent": sent})


def newly_at_risk(con) -> list[dict]:
    con.execute("create schema if not exists meta")
    con.execute(
        "create table if not exists meta.projects_at_risk (account_id varchar, "
        "project_id varchar, flagged_at timestamptz, primary key (account_id, "
        "project_id))"
    )
    cursor = con.execute(
        "select r.account_id, r.project_id, r.project_name, r.risk_reasons, "
        "r.remaining_tasks, r.ideal_remaining_tasks, r.missed_milestones, r.blocked_tasks "
        "from bi.fct_project_risk as r where r.is_at_risk and not exists (select 1 from "
        "meta.projects_at_risk as m where m.account_id = r.account_id "
        "and m.project_id = r.project_id) order by 1, 2"
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def remember_at_risk(con) -> None:
    con.execute(
        "delete from meta.projects_at_risk where (account_id, project_id) not in "
        "(select account_id, project_id from bi.fct_project_risk where is_at_risk)"
    )
    con.execute(
        "insert or ignore into meta.projects_at_risk select account_id, project_id, "
        "now() from bi.fct_project_risk where is_at_risk"
    )


dashboard_assets = [executive_dashboard, projects_at_risk_alerts]
