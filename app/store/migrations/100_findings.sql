-- BI-RADS findings of a study: the exam record, the findings, CAD decisions, the audit history,
-- and the viewer state. Owned by app/store/findings.py. JSON columns hold the model's own
-- serialisation (app.model.findings); the plain columns are for queries.
-- Findings are keyed by Study Instance UID and outlive the study's image records on purpose:
-- removing and re-importing a study must not lose what the reader wrote.

CREATE TABLE findings_studies (
    study_uid    TEXT PRIMARY KEY,
    revision     INTEGER NOT NULL CHECK (revision >= 0),
    assessment   TEXT NOT NULL,                  -- JSON ExamAssessment
    geometries   TEXT NOT NULL DEFAULT '{}',     -- JSON {sop_instance_uid: BreastGeometry}
    cad_marks    TEXT NOT NULL DEFAULT '[]',     -- JSON [CadMark]
    saved_at     TEXT NOT NULL                   -- UTC ISO 8601
);

CREATE TABLE findings (
    id          TEXT PRIMARY KEY,
    study_uid   TEXT NOT NULL REFERENCES findings_studies (study_uid) ON DELETE CASCADE,
    number      INTEGER NOT NULL CHECK (number >= 1),
    kind        TEXT NOT NULL,
    laterality  TEXT NOT NULL CHECK (laterality IN ('R', 'L')),
    category    TEXT,
    data        TEXT NOT NULL,                   -- JSON Finding
    UNIQUE (study_uid, number)
);
CREATE INDEX findings_study ON findings (study_uid);

CREATE TABLE findings_cad_decisions (
    study_uid   TEXT NOT NULL REFERENCES findings_studies (study_uid) ON DELETE CASCADE,
    cad_id      TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('accepted', 'dismissed')),
    finding_id  TEXT REFERENCES findings (id) DEFERRABLE INITIALLY DEFERRED,
    reader      TEXT NOT NULL DEFAULT '',
    decided_at  REAL NOT NULL,                   -- epoch seconds
    reason      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (study_uid, cad_id),
    CHECK ((decision = 'accepted') = (finding_id IS NOT NULL))
);

CREATE TABLE findings_history (
    study_uid   TEXT NOT NULL REFERENCES findings_studies (study_uid) ON DELETE CASCADE,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    at          TEXT NOT NULL,                   -- UTC ISO 8601 with milliseconds
    at_epoch    REAL NOT NULL,
    reader      TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}',      -- JSON (before/after)
    PRIMARY KEY (study_uid, seq)
);

CREATE TABLE viewer_states (
    study_uid   TEXT PRIMARY KEY,
    state       TEXT NOT NULL,                   -- JSON, the viewer's own format
    saved_at    TEXT NOT NULL
);
