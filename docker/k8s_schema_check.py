#!/usr/bin/python3
"""Offline schema check of Kubernetes manifests (called by docker/ci-check.sh).

Every document is deserialised into the typed model of Debian's python3-kubernetes (Kubernetes
1.22 API) and serialised back; the result must equal the input. A field the model does not know
is dropped by the round trip, a value of the wrong type changes (or fails to deserialise), a
missing required field or an unknown kind raises: each is reported with its path.

  docker/k8s_schema_check.py FILE.yaml... ('-' reads a stream, e.g. kubectl kustomize output)
Exit status 0 when every document passes. kustomization.yaml files are skipped (not API objects).
"""
import os
import sys

import yaml
from kubernetes import client


def model_name(doc):
    api, kind = doc.get('apiVersion', ''), doc.get('kind', '')
    version = api.split('/')[-1]
    return version[:1].upper() + version[1:] + kind


def diff(orig, back, path, out):
    if isinstance(orig, dict) and isinstance(back, dict):
        for k, v in orig.items():
            if k not in back:
                out.append('%s.%s: unknown field (or null)' % (path, k))
            else:
                diff(v, back[k], '%s.%s' % (path, k), out)
    elif isinstance(orig, list) and isinstance(back, list) and len(orig) == len(back):
        for i, (a, b) in enumerate(zip(orig, back)):
            diff(a, b, '%s[%d]' % (path, i), out)
    elif orig != back or type(orig) is not type(back):
        out.append('%s: %r became %r (wrong type?)' % (path, orig, back))


def check_doc(api, doc, where):
    if not isinstance(doc, dict):
        return ['%s: not a mapping' % where]
    if doc.get('kind') == 'Kustomization':
        return []
    name = model_name(doc)
    if not hasattr(client, name):
        return ['%s: unknown kind %s %s (no model %s)' % (where, doc.get('apiVersion'), doc.get('kind'), name)]
    try:
        obj = api._ApiClient__deserialize(doc, name)
    except (ValueError, TypeError, AttributeError) as e:
        return ['%s: %s does not deserialise: %s' % (where, name, e)]
    back = api.sanitize_for_serialization(obj)
    errs = []
    diff(doc, back, '%s %s/%s' % (where, doc['kind'], doc.get('metadata', {}).get('name', '?')), errs)
    return errs


def main(paths):
    api = client.ApiClient()
    errors, count = [], 0
    for path in paths:
        if os.path.basename(path) == 'kustomization.yaml':
            continue
        text = sys.stdin.read() if path == '-' else open(path).read()
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as e:
            errors.append('%s: YAML error: %s' % (path, e))
            continue
        for i, d in enumerate(docs):
            count += 1
            errors += check_doc(api, d, '%s#%d' % ('stdin' if path == '-' else path, i))
    for e in errors:
        print('k8s schema: ' + e)
    print('k8s schema: %d document(s), %d error(s)' % (count, len(errors)))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:] or ['-']))
