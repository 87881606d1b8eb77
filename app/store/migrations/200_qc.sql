-- Technologist QC: one row per QC session (an acquisition checked, or a phantom session), its
-- per-check values for trends, the accept/reject decision, and per-device limits and baseline.
-- Owned by app/store/qc.py. The report column holds recon.qc.QCReport.to_dict() as JSON.

CREATE TABLE qc_sessions (
    id                   INTEGER PRIMARY KEY,
    device               TEXT NOT NULL,                 -- station: manufacturer, model, serial
    kind                 TEXT NOT NULL CHECK (kind IN ('acquisition', 'phantom')),
    study_uid            TEXT,
    series_uid           TEXT,
    sop_instance_uid     TEXT,
    view                 TEXT,                          -- e.g. 'RCC'
    performed_at         TEXT NOT NULL,                 -- UTC ISO 8601
    status               TEXT NOT NULL CHECK (status IN ('pass', 'warn', 'fail')),
    report               TEXT NOT NULL,                 -- JSON QCReport
    decision             TEXT CHECK (decision IN ('accepted', 'rejected', 'repeated')),
    decision_reason      TEXT,
    decision_text        TEXT,
    decided_by           TEXT,
    decided_at           TEXT,
    kos_sop_instance_uid TEXT                           -- the KOS 'Rejected for Quality Reasons'
);
CREATE INDEX qc_sessions_device ON qc_sessions (device, kind, performed_at);
CREATE INDEX qc_sessions_sop ON qc_sessions (sop_instance_uid);

CREATE TABLE qc_values (
    session_id  INTEGER NOT NULL REFERENCES qc_sessions (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    value       REAL,
    status      TEXT NOT NULL CHECK (status IN ('pass', 'warn', 'fail')),
    PRIMARY KEY (session_id, name)
);

CREATE TABLE qc_devices (
    device      TEXT PRIMARY KEY,
    limits      TEXT NOT NULL DEFAULT '{}',            -- JSON QCLimits overrides
    baseline    TEXT NOT NULL DEFAULT '{}',            -- JSON {figure: reference value}
    updated_at  TEXT NOT NULL
);
