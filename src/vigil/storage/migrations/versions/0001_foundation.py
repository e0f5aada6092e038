"""Foundation: orgs, users, membership, teams, service-account tokens, login attempts, sessions.

Revision ID: 0001_foundation
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column[int]]:
    return [
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "org",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(190), nullable=False),
        *[
            sa.Column(c, sa.String(255), nullable=False, server_default="")
            for c in ("address1", "address2", "city")
        ],
        sa.Column("zip_code", sa.String(50), nullable=False, server_default=""),
        *[sa.Column(c, sa.String(255), nullable=False, server_default="") for c in ("state", "country")],
        *_stamps(),
        sa.UniqueConstraint("name", name="uq_org_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("login", sa.String(190), nullable=False),
        sa.Column("email", sa.String(190), nullable=False),
        sa.Column("name", sa.String(255), nullable=False, server_default=""),
        sa.Column("password_hash", sa.String(255), nullable=False, server_default=""),
        sa.Column("theme", sa.String(20), nullable=False, server_default=""),
        sa.Column("org_id", sa.Integer, nullable=False),
        *[
            sa.Column(c, sa.Boolean, nullable=False, server_default="0")
            for c in ("is_admin", "is_disabled", "is_service_account", "is_external")
        ],
        *_stamps(),
        sa.Column("last_seen_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint("uid", name="uq_user_account_uid"),
        sa.UniqueConstraint("login", name="uq_user_account_login"),
        sa.UniqueConstraint("email", name="uq_user_account_email"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "org_user",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        *_stamps(),
        sa.UniqueConstraint("org_id", "user_id", name="uq_org_user_org_id_user_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_org_user_user_id", "org_user", ["user_id"])
    op.create_table(
        "team",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(190), nullable=False),
        sa.Column("email", sa.String(190), nullable=False, server_default=""),
        *_stamps(),
        sa.UniqueConstraint("uid", name="uq_team_uid"),
        sa.UniqueConstraint("org_id", "name", name="uq_team_org_id_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "team_member",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("team_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("permission", sa.Integer, nullable=False, server_default="0"),
        *_stamps(),
        sa.UniqueConstraint("team_id", "user_id", name="uq_team_member_team_id_user_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_team_member_user_id", "team_member", ["user_id"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("service_account_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(190), nullable=False),
        sa.Column("key_hash", sa.String(128), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("expires", sa.BigInteger, nullable=True),
        sa.Column("last_used_at", sa.BigInteger, nullable=True),
        sa.Column("is_revoked", sa.Boolean, nullable=False, server_default="0"),
        sa.UniqueConstraint("key_hash", name="uq_api_token_key_hash"),
        sa.UniqueConstraint("service_account_id", "name", name="uq_api_token_service_account_id_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(190), nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_login_attempt_username_created", "login_attempt", ["username", "created"])
    op.create_index("ix_login_attempt_ip_created", "login_attempt", ["ip_address", "created"])
    op.create_table(
        "user_auth_token",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("auth_token", sa.String(64), nullable=False),
        sa.Column("prev_auth_token", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(255), nullable=False, server_default=""),
        sa.Column("client_ip", sa.String(64), nullable=False, server_default=""),
        *[sa.Column(c, sa.BigInteger, nullable=False) for c in ("seen_at", "rotated_at", "created_at")],
        sa.Column("revoked_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint("auth_token", name="uq_user_auth_token_auth_token"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_user_auth_token_prev_auth_token", "user_auth_token", ["prev_auth_token"])
    op.create_index("ix_user_auth_token_user_id", "user_auth_token", ["user_id"])


def downgrade() -> None:
    for name in ("user_auth_token", "login_attempt", "api_token", "team_member", "team", "org_user"):
        op.drop_table(name)
    op.drop_table("user_account")
    op.drop_table("org")
