#!/usr/bin/env bash
# Runs once, when the data volume is empty (docker-entrypoint-initdb.d). Mercato connects as
# its own role rather than the superuser: each service creates its database (mercato_identity,
# mercato_catalog, …, mercato_orders) on first start, so the role needs CREATEDB and nothing more.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v password="$MERCATO_DB_PASSWORD" <<'SQL'
CREATE ROLE mercato LOGIN CREATEDB PASSWORD :'password';
SQL
