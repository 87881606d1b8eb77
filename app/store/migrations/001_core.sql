-- The core study store: patients, studies, series, instances, and derived objects.
-- Texts are '' rather than NULL when a DICOM attribute is absent, so that equality works.
-- Times are UTC ISO 8601 ('2026-01-31T12:00:00Z').

CREATE TABLE patients (
    id          INTEGER PRIMARY KEY,
    patient_id  TEXT NOT NULL DEFAULT '',   -- (0010,0020)
    issuer      TEXT NOT NULL DEFAULT '',   -- (0010,0021) Issuer of Patient ID
    name        TEXT NOT NULL DEFAULT '',   -- (0010,0010), DICOM PN form 'Family^Given'
    birth_date  TEXT NOT NULL DEFAULT '',   -- (0010,0030) YYYYMMDD
    sex         TEXT NOT NULL DEFAULT '',   -- (0010,0040)
    UNIQUE (patient_id, issuer)
);

CREATE TABLE studies (
    id          INTEGER PRIMARY KEY,
    study_uid   TEXT NOT NULL UNIQUE,                                  -- (0020,000D)
    patient     INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    study_date  TEXT NOT NULL DEFAULT '',                              -- (0008,0020) YYYYMMDD
    study_time  TEXT NOT NULL DEFAULT '',                              -- (0008,0030)
    accession   TEXT NOT NULL DEFAULT '',                              -- (0008,0050)
    study_id    TEXT NOT NULL DEFAULT '',                              -- (0020,0010)
    description TEXT NOT NULL DEFAULT '',                              -- (0008,1030)
    referring   TEXT NOT NULL DEFAULT '',                              -- (0008,0090)
    status      TEXT NOT NULL DEFAULT 'unread' CHECK (status IN ('unread', 'read', 'reported')),
    status_at   TEXT,
    status_by   TEXT NOT NULL DEFAULT '',
    added_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX studies_patient ON studies (patient);
CREATE INDEX studies_date ON studies (study_date);
CREATE INDEX studies_status ON studies (status);

CREATE TABLE series (
    id            INTEGER PRIMARY KEY,
    series_uid    TEXT NOT NULL UNIQUE,                                -- (0020,000E)
    study         INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    modality      TEXT NOT NULL DEFAULT '',                            -- (0008,0060)
    series_number INTEGER,                                             -- (0020,0011)
    description   TEXT NOT NULL DEFAULT '',                            -- (0008,103E)
    manufacturer  TEXT NOT NULL DEFAULT '',                            -- (0008,0070)
    model         TEXT NOT NULL DEFAULT '',                            -- (0008,1090)
    body_part     TEXT NOT NULL DEFAULT '',                            -- (0018,0015)
    added_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX series_study ON series (study);

CREATE TABLE instances (
    id                  INTEGER PRIMARY KEY,
    sop_instance_uid    TEXT NOT NULL UNIQUE,                          -- (0008,0018)
    sop_class_uid       TEXT NOT NULL,                                 -- (0008,0016)
    series              INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    instance_number     INTEGER,                                       -- (0020,0013)
    path                TEXT NOT NULL,        -- absolute for imported files, relative to the store folder otherwise
    origin              TEXT NOT NULL CHECK (origin IN ('imported', 'received', 'made')),
    file_size           INTEGER NOT NULL,
    file_mtime_ns       INTEGER NOT NULL,
    transfer_syntax_uid TEXT NOT NULL DEFAULT '',
    frames              INTEGER NOT NULL DEFAULT 0,                    -- (0028,0008), 1 for single-frame images, 0 for non-images
    rows                INTEGER,
    columns             INTEGER,
    laterality          TEXT NOT NULL DEFAULT '',  -- R, L, B: Frame Laterality, then Image Laterality, then Laterality
    view                TEXT NOT NULL DEFAULT '',  -- CC, MLO, ... from View Code Sequence, then View Position
    presentation_intent TEXT NOT NULL DEFAULT '',  -- (0008,0068)
    image_type          TEXT NOT NULL DEFAULT '',  -- (0008,0008), values joined by '\'
    added_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX instances_series ON instances (series);
CREATE INDEX instances_path ON instances (path);

-- Objects Crescent made from others: reconstructed volumes, synthetic 2D, CAD results, reports.
-- A derived object may also be a DICOM instance in the store (instance), or a plain file (JSON, PDF).
CREATE TABLE derived (
    id          INTEGER PRIMARY KEY,
    study       INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,                 -- volume, synthetic2d, cad, report, qc, other
    path        TEXT NOT NULL,                 -- same rule as instances.path
    instance    INTEGER REFERENCES instances (id) ON DELETE SET NULL,
    description TEXT NOT NULL DEFAULT '',
    software    TEXT NOT NULL DEFAULT '',
    parameters  TEXT NOT NULL DEFAULT '{}',    -- JSON object
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX derived_study ON derived (study);
CREATE INDEX derived_instance ON derived (instance);

-- What each derived object was made from: store instances or other derived objects.
CREATE TABLE derived_sources (
    derived         INTEGER NOT NULL REFERENCES derived (id) ON DELETE CASCADE,
    source_instance INTEGER REFERENCES instances (id) ON DELETE CASCADE,
    source_derived  INTEGER REFERENCES derived (id) ON DELETE CASCADE,
    CHECK ((source_instance IS NULL) <> (source_derived IS NULL))
);
CREATE UNIQUE INDEX derived_sources_unique ON derived_sources (derived, ifnull(source_instance, 0), ifnull(source_derived, 0));
CREATE INDEX derived_sources_instance ON derived_sources (source_instance);
CREATE INDEX derived_sources_derived ON derived_sources (source_derived);
