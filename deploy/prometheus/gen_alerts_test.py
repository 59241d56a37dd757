#!/usr/bin/env python3
"""Writes alerts_test.yml, the promtool unit test of alerts.yml.

The cases (input series, evaluation times, which alerts must fire with
which labels, which must stay silent) are written here by hand; only the
expected annotations are rendered from alerts.yml ({{ $labels.x }}
substituted), because promtool compares annotations too and copying them
by hand would only duplicate the text. Run it after changing an alert's
annotations or adding a case, then `promtool test rules alerts_test.yml`:

  cd deploy/prometheus && python3 gen_alerts_test.py
"""
import os
import re

import yaml

os.chdir(os.path.dirname(os.path.abspath(__file__)))
rules = {r['alert']: r for g in yaml.safe_load(open('alerts.yml'))['groups'] for r in g['rules']}
def render(s, labels):
    return re.sub(r'\{\{ \$labels\.(\w+) \}\}', lambda m: labels.get(m.group(1), ''), s)
def exp(alert, labels):
    r = rules[alert]
    l = dict(labels); l.update(r['labels'])
    return {'exp_labels': l, 'exp_annotations': {k: render(v, labels) for k, v in r['annotations'].items()}}
A = 'a:9464'
tests = []
# 1. exchange down: fires after 2m of up==0, not for an up instance.
tests.append({'interval': '1m', 'input_series': [
    {'series': 'up{job="datarund",instance="a:9464"}', 'values': '1 1 0x10'},
    {'series': 'up{job="datarund",instance="b:9464"}', 'values': '1x12'}],
  'alert_rule_test': [
    {'eval_time': '3m', 'alertname': 'DatarunExchangeDown', 'exp_alerts': []},
    {'eval_time': '5m', 'alertname': 'DatarunExchangeDown', 'exp_alerts': [exp('DatarunExchangeDown', {'job': 'datarund', 'instance': A})]},
    {'eval_time': '10m', 'alertname': 'DatarunNoExchangeInstance', 'exp_alerts': []}]})
# 2. no instance at all.
tests.append({'interval': '1m', 'input_series': [
    {'series': 'up{job="datarund",instance="a:9464"}', 'values': '0x10'}],
  'alert_rule_test': [
    {'eval_time': '3m', 'alertname': 'DatarunNoExchangeInstance', 'exp_alerts': []},
    {'eval_time': '6m', 'alertname': 'DatarunNoExchangeInstance', 'exp_alerts': [exp('DatarunNoExchangeInstance', {})]}]})
# 3. rejections: 10/min invalid_subject against 1000/min applied (1%): the
# warning fires, the >5% critical does not; a flat counter fires nothing.
tests.append({'interval': '1m', 'input_series': [
    {'series': 'datarun_ingest_rejected_total{job="datarund",instance="a:9464",reason="invalid_subject"}', 'values': '0+10x40'},
    {'series': 'datarun_ingest_rejected_total{job="datarund",instance="a:9464",reason="malformed"}', 'values': '5x40'},
    {'series': 'datarun_ingest_messages_total{job="datarund",instance="a:9464",result="applied"}', 'values': '0+1000x40'},
    {'series': 'datarun_ingest_rejected_total{job="datarund",instance="b:9464",reason="invalid_subject"}', 'values': '7x40'}],
  'alert_rule_test': [
    {'eval_time': '9m', 'alertname': 'DatarunIngestRejections', 'exp_alerts': []},
    {'eval_time': '30m', 'alertname': 'DatarunIngestRejections', 'exp_alerts': [exp('DatarunIngestRejections', {'instance': A, 'reason': 'invalid_subject'})]},
    {'eval_time': '30m', 'alertname': 'DatarunIngestRejectionsHigh', 'exp_alerts': []}]})
# 4. 20% rejected: critical.
tests.append({'interval': '1m', 'input_series': [
    {'series': 'datarun_ingest_rejected_total{job="datarund",instance="a:9464",reason="not_authoritative"}', 'values': '0+200x40'},
    {'series': 'datarun_ingest_messages_total{job="datarund",instance="a:9464",result="applied"}', 'values': '0+700x40'},
    {'series': 'datarun_ingest_messages_total{job="datarund",instance="a:9464",result="stale"}', 'values': '0+100x40'}],
  'alert_rule_test': [
    {'eval_time': '30m', 'alertname': 'DatarunIngestRejectionsHigh', 'exp_alerts': [exp('DatarunIngestRejectionsHigh', {'instance': A})]}]})
# 5. cluster id reset: at once; gone 15m later.
tests.append({'interval': '1m', 'input_series': [
    {'series': 'datarun_state_cluster_id_resets_total{job="datarund",instance="a:9464"}', 'values': '0 0 0 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8'},
    {'series': 'datarun_state_cluster_id_resets_total{job="datarund",instance="b:9464"}', 'values': '3x24'}],
  'alert_rule_test': [
    {'eval_time': '2m', 'alertname': 'DatarunClusterIdReset', 'exp_alerts': []},
    {'eval_time': '4m', 'alertname': 'DatarunClusterIdReset', 'exp_alerts': [exp('DatarunClusterIdReset', {'job': 'datarund', 'instance': A})]},
    {'eval_time': '24m', 'alertname': 'DatarunClusterIdReset', 'exp_alerts': []}]})
# 6. pauses: one pause every 2 minutes for 40 minutes fires; 2 pauses do not.
tests.append({'interval': '1m', 'input_series': [
    {'series': 'datarun_ingest_pauses_total{job="datarund",instance="a:9464"}', 'values': '0+0.5x60'},
    {'series': 'datarun_ingest_pauses_total{job="datarund",instance="b:9464"}', 'values': '0 1 2 2x58'}],
  'alert_rule_test': [
    {'eval_time': '20m', 'alertname': 'DatarunIngestPausing', 'exp_alerts': []},
    {'eval_time': '40m', 'alertname': 'DatarunIngestPausing', 'exp_alerts': [exp('DatarunIngestPausing', {'job': 'datarund', 'instance': A})]}]})
# 7. stalled: a day of traffic, then nothing for an hour; b keeps going.
tests.append({'interval': '1m', 'input_series': [
    {'series': 'up{job="datarund",instance="a:9464"}', 'values': '1x1600'},
    {'series': 'up{job="datarund",instance="b:9464"}', 'values': '1x1600'},
    {'series': 'datarun_ingest_messages_total{job="datarund",instance="a:9464",result="applied"}', 'values': '0+100x1440 144000x160'},
    {'series': 'datarun_ingest_rejected_total{job="datarund",instance="a:9464",reason="malformed"}', 'values': '0x1600'},
    {'series': 'datarun_ingest_messages_total{job="datarund",instance="b:9464",result="applied"}', 'values': '0+100x1600'},
    {'series': 'datarun_ingest_rejected_total{job="datarund",instance="b:9464",reason="malformed"}', 'values': '0x1600'}],
  'alert_rule_test': [
    {'eval_time': '1490m', 'alertname': 'DatarunIngestStalled', 'exp_alerts': []},
    {'eval_time': '1560m', 'alertname': 'DatarunIngestStalled', 'exp_alerts': [exp('DatarunIngestStalled', {'job': 'datarund', 'instance': A})]}]})
# 8. connectors.
C = '127.0.0.1:9471'
T = 'dr.data.public_security.vehicle_registration'
tests.append({'interval': '1m', 'input_series': [
    {'series': f'up{{job="datarun-connect",instance="{C}",department="public_security"}}', 'values': '1 1 0x10'},
    {'series': f'datarun_connector_dlq_rows_total{{job="datarun-connect",instance="{C}",department="public_security",reason="invalid_subject"}}', 'values': '0+2x40'},
    {'series': f'datarun_connector_rows_total{{job="datarun-connect",instance="{C}",department="public_security",topic="{T}",outcome="dlq"}}', 'values': '0+2x40'},
    {'series': f'datarun_connector_rows_total{{job="datarun-connect",instance="{C}",department="public_security",topic="{T}",outcome="published"}}', 'values': '0+100x40'},
    {'series': f'datarun_connector_delivery_failures_total{{job="datarun-connect",instance="{C}",department="public_security",topic="{T}"}}', 'values': '0x20 1x20'}],
  'alert_rule_test': [
    {'eval_time': '8m', 'alertname': 'DatarunConnectorDown', 'exp_alerts': [exp('DatarunConnectorDown', {'job': 'datarun-connect', 'instance': C, 'department': 'public_security'})]},
    {'eval_time': '10m', 'alertname': 'DatarunConnectorDlqRows', 'exp_alerts': []},
    {'eval_time': '35m', 'alertname': 'DatarunConnectorDlqRows', 'exp_alerts': [exp('DatarunConnectorDlqRows', {'instance': C, 'department': 'public_security', 'reason': 'invalid_subject'})]},
    {'eval_time': '35m', 'alertname': 'DatarunConnectorMostlyDlq', 'exp_alerts': []},
    {'eval_time': '15m', 'alertname': 'DatarunConnectorDeliveryFailures', 'exp_alerts': []},
    {'eval_time': '22m', 'alertname': 'DatarunConnectorDeliveryFailures', 'exp_alerts': [exp('DatarunConnectorDeliveryFailures', {'job': 'datarun-connect', 'instance': C, 'department': 'public_security', 'topic': T})]}]})
# 9. a connector whose rows are mostly rejected.
tests.append({'interval': '1m', 'input_series': [
    {'series': f'datarun_connector_rows_total{{job="datarun-connect",instance="{C}",topic="{T}",outcome="dlq"}}', 'values': '0+90x40'},
    {'series': f'datarun_connector_rows_total{{job="datarun-connect",instance="{C}",topic="{T}",outcome="published"}}', 'values': '0+10x40'}],
  'alert_rule_test': [
    {'eval_time': '35m', 'alertname': 'DatarunConnectorMostlyDlq', 'exp_alerts': [exp('DatarunConnectorMostlyDlq', {'instance': C, 'topic': T})]}]})
# 10. queries: p99 of 2 s on a fires after 10m, b at 10 ms does not;
# resolver errors on a fire after 5m, b's flat error counter does not.
def query_buckets(instance, le_rates):
    return [{'series': f'datarun_query_duration_seconds_bucket{{job="datarund",instance="{instance}",kind="profile",matter="m",le="{le}"}}',
             'values': f'0+{r}x40'} for le, r in le_rates]
tests.append({'interval': '1m', 'input_series':
    query_buckets(A, [('0.5', 0), ('1', 0), ('2.5', 100), ('+Inf', 100)]) +
    query_buckets('b:9464', [('0.01', 100), ('0.5', 100), ('1', 100), ('2.5', 100), ('+Inf', 100)]) + [
    {'series': f'datarun_query_requests_total{{job="datarund",instance="{A}",kind="profile",decision="error"}}', 'values': '0x10 0+5x30'},
    {'series': 'datarun_query_requests_total{job="datarund",instance="b:9464",kind="profile",decision="error"}', 'values': '3x40'}],
  'alert_rule_test': [
    {'eval_time': '8m', 'alertname': 'DatarunQueryLatencyHigh', 'exp_alerts': []},
    {'eval_time': '20m', 'alertname': 'DatarunQueryLatencyHigh', 'exp_alerts': [exp('DatarunQueryLatencyHigh', {'instance': A})]},
    {'eval_time': '13m', 'alertname': 'DatarunQueryErrors', 'exp_alerts': []},
    {'eval_time': '20m', 'alertname': 'DatarunQueryErrors', 'exp_alerts': [exp('DatarunQueryErrors', {'instance': A})]}]})
# 11. ingest lag: dept_a 20000 behind and growing 500/min fires once it has held for 15m;
# dept_b 50000 behind but shrinking (catching up) and dept_c growing below
# 10000 do not. Summed over instances.
def lag(instance, dept, values):
    return {'series': f'datarun_ingest_lag_records{{job="datarund",instance="{instance}",department="{dept}"}}', 'values': values}
tests.append({'interval': '1m', 'input_series': [
    lag(A, 'dept_a', '10000+250x60'), lag('b:9464', 'dept_a', '10000+250x60'),
    lag(A, 'dept_b', '50000-500x60'),
    lag(A, 'dept_c', '0+100x60')],
  'alert_rule_test': [
    {'eval_time': '12m', 'alertname': 'DatarunIngestLagGrowing', 'exp_alerts': []},
    {'eval_time': '40m', 'alertname': 'DatarunIngestLagGrowing', 'exp_alerts': [exp('DatarunIngestLagGrowing', {'department': 'dept_a'})]}]})
# 12. sealing: partition 0 seals every 1000 links (never 2000 behind);
# partition 1's checkpoints stop at 900 while its chain grows 100/min, so it
# fires 10m after the gap passes 2000 (at 21m); partition 2 was never sealed
# (-1) and has 500 links: silent. The checkpoint of partition 1 on a second
# instance that owned it earlier (older) does not hide it.
def chain(instance, p, values):
    return {'series': f'datarun_audit_chain_sequence{{job="datarund",instance="{instance}",partition="{p}"}}', 'values': values}
def cp(instance, p, values):
    return {'series': f'datarun_audit_checkpoint_sequence{{job="datarund",instance="{instance}",partition="{p}"}}', 'values': values}
tests.append({'interval': '1m', 'input_series': [
    chain(A, 0, '0+100x60'), cp(A, 0, ' '.join(str((i * 100 // 1000) * 1000 - 1) for i in range(61))),
    chain(A, 1, '1000+100x60'), cp(A, 1, '900x60'), cp('b:9464', 1, '500x60'),
    chain(A, 2, '500x60'), cp(A, 2, '-1x60')],
  'alert_rule_test': [
    {'eval_time': '25m', 'alertname': 'DatarunAuditSealingStopped', 'exp_alerts': []},
    {'eval_time': '35m', 'alertname': 'DatarunAuditSealingStopped', 'exp_alerts': [exp('DatarunAuditSealingStopped', {'partition': '1'})]}]})
# 13. block cache: a at 30% hits over 1000 lookups/s fires after 30m; b at
# 90% and c at 10% of only 10 lookups/s do not.
def cache(instance, hits, misses):
    return [{'series': f'datarun_state_block_cache_hits_total{{job="datarund",instance="{instance}"}}', 'values': f'0+{hits * 60}x90'},
            {'series': f'datarun_state_block_cache_misses_total{{job="datarund",instance="{instance}"}}', 'values': f'0+{misses * 60}x90'}]
tests.append({'interval': '1m', 'input_series':
    cache(A, 300, 700) + cache('b:9464', 900, 100) + cache('c:9464', 1, 9),
  'alert_rule_test': [
    {'eval_time': '25m', 'alertname': 'DatarunBlockCacheHitRateLow', 'exp_alerts': []},
    {'eval_time': '70m', 'alertname': 'DatarunBlockCacheHitRateLow', 'exp_alerts': [exp('DatarunBlockCacheHitRateLow', {'instance': A})]}]})
head = (# promtool unit tests of alerts.yml: each alert fires on the series that\n'
        '# should trigger it (after its for:) and stays silent on the ones that\n'
        '# should not. Run: promtool test rules alerts_test.yml\n')
open('alerts_test.yml', 'w').write(head + yaml.safe_dump({'rule_files': ['alerts.yml'], 'evaluation_interval': '1m', 'tests': tests}, sort_keys=False, allow_unicode=True, width=100))
