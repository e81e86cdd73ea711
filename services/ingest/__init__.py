"""The ingest service: device protocol v1 from the broker into the database.

    paho network thread                       writer thread (group_commit)
    ───────────────────                       ────────────────────────────
    message ─▶ validate_message (pure) ─▶ queue ─▶ batch (what arrived meanwhile, ≤ max)
                                                   one transaction (batch_store):
                                                     devices + assignments (one query)
                                                     inbox / readings  ON CONFLICT DO NOTHING
                                                     responses, status, presence, quarantine
                                                   commit
                                                   receipts ─▶ <root>/devices/<id>/receipts
                                                   hint     ─▶ <root>/internal/readings-committed
                                                   acks, in arrival order

Modules: ``main`` (composition root, ``run(settings)``), ``service`` (subscriptions and
validation on arrival), ``group_commit`` (the writer), ``batch_plan`` (what each arrival
becomes), ``batch_store`` and ``bulk_insert`` (the SQL), ``device_directory``,
``arrivals`` (arrival, decision, receipt), ``metrics``, ``settings`` (``PUST_INGEST_*``).
"""
