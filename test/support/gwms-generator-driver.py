"""Calls contrib/glideinwms/glidekey_generator.py as GlideinWMS's frontend element does.

The frontend puts /etc/gwms-frontend/plugin.d on sys.path, imports the generator module by the
name frontend.xml gives, and calls get_credential(logSupport, group, entry, trust_domain) with
its logSupport module (whose .log attribute is the logger) and entry = {name, gatekeeper, factory}
taken from the entry's attributes (None where one is missing). Here: argv[1] is the plug-in
directory, argv[2] a JSON list of [group, entry, trust_domain] calls, made in one process as one
iteration of a group would. Prints a JSON object: each call's result or exception class and
message, and every line logged.
"""

import importlib
import json
import logging
import sys
import types

sys.path.append(sys.argv[1])
lines = []


class Capture(logging.Handler):
    def emit(self, record):
        lines.append(record.getMessage())


logger = logging.getLogger("frontend")
logger.setLevel(logging.DEBUG)
logger.addHandler(Capture())
logSupport = types.SimpleNamespace(log=logger)

plugin = importlib.import_module("glidekey_generator")
results = []
for group, entry, trust_domain in json.loads(sys.argv[2]):
    try:
        token, lifetime = plugin.get_credential(logSupport, group, entry, trust_domain)
        results.append({"token": token, "lifetime": lifetime})
    except (KeyError, ValueError) as e:
        results.append({"error": type(e).__name__, "message": str(e)})
    except Exception as e:  # GlideinWMS catches everything; the test wants to see anything else
        results.append({"error": "unexpected " + type(e).__name__, "message": str(e)})
print(json.dumps({"results": results, "log": lines}))
