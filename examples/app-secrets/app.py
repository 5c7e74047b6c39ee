#!/usr/bin/env python3
"""A stand-in for the application: settings from a JSON file (--config PATH), secrets from the environment.

It prints what it would connect to, never a whole secret.
"""
import json
import os
import sys

settings = {}
if "--config" in sys.argv:
    with open(sys.argv[sys.argv.index("--config") + 1]) as fh:  # a FIFO from psops exec-file: read once
        settings = json.load(fh)
db = settings.get("database", {})
if db:
    print(f"app: database {db['host']}:{db['port']} as {db['user']} "
          f"(password of {len(db['password'])} characters)")
token = os.environ.get("API_TOKEN")
if token:
    print(f"app: API token ...{token[-4:]}, SMTP password set: {bool(os.environ.get('SMTP_PASSWORD'))}")
