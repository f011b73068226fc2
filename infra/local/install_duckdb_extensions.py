"""Install the DuckDB extensions that local-bigquery loads, from their PyPI wheels.

Run with the local-bigquery venv's Python and HOME set to the isolated home the
stack gives local-bigquery: DuckDB would otherwise try to download them, and a
missing extension wedges the server (see the handbook).
"""

import glob
import os
import sys

import duckdb

site = sys.argv[1]
files = sorted(glob.glob(os.path.join(site, "duckdb_extension_*/extensions/*/*.duckdb_extension")))
if not files:
    sys.exit(f"no DuckDB extension wheels under {site}")
connection = duckdb.connect()
for path in files:
    connection.execute(f"FORCE INSTALL '{path}'")
    print("installed", os.path.basename(path))
