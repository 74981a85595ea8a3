"""Every path the project reads from its own tree, resolved from one place (never the cwd)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
MODELS_DIR = PROJECT_ROOT / "dbt_style_models"
