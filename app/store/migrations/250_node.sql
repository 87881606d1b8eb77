-- The reconstruction node (app/node): received projections grouped into acquisitions, one job per
-- acquisition, and the results each job made and sent. Times are Unix seconds (REAL) from the
-- node's clock, so that tests can drive them with an injectable clock.

-- An acquisition: the projections of one exposure sequence, gathered until complete.
CREATE TABLE node_acquisitions (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,          -- grouping key (see app.node.grouping)
    study_uid   TEXT NOT NULL,
    expected    INTEGER,                       -- projections expected; NULL: unknown (quiet time decides)
    received    INTEGER NOT NULL DEFAULT 0,    -- projections received so far
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'queued')),
    calling_ae  TEXT NOT NULL DEFAULT '',
    first_at    REAL NOT NULL,
    last_at     REAL NOT NULL
);
CREATE INDEX node_acquisitions_state ON node_acquisitions (state, last_at);

-- Every object the node acknowledged (written and fsynced before the C-STORE response).
CREATE TABLE node_received (
    sop_instance_uid TEXT PRIMARY KEY,
    acquisition      INTEGER NOT NULL REFERENCES node_acquisitions (id) ON DELETE CASCADE,
    path             TEXT NOT NULL,            -- relative to the store folder
    projections      INTEGER NOT NULL,         -- frames it holds
    received_at      REAL NOT NULL
);
CREATE INDEX node_received_acquisition ON node_received (acquisition);

-- One job per acquisition. queued -> running -> done | failed; running -> queued on a restart
-- or a transient failure (with next_at, exponential backoff); failed -> queued by 'node retry'.
CREATE TABLE node_jobs (
    id          INTEGER PRIMARY KEY,
    acquisition INTEGER NOT NULL UNIQUE REFERENCES node_acquisitions (id) ON DELETE CASCADE,
    state       TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    stage       TEXT NOT NULL DEFAULT '',      -- last stage reached: read, preview, computed, written, sent
    attempts    INTEGER NOT NULL DEFAULT 0,
    reason      TEXT NOT NULL DEFAULT '',      -- why it failed or was re-queued (no patient data)
    created_at  REAL NOT NULL,
    started_at  REAL,
    finished_at REAL,
    next_at     REAL NOT NULL                  -- not started before this time (backoff)
);
CREATE INDEX node_jobs_state ON node_jobs (state, next_at);

-- The DICOM objects a job made, with their deterministic UIDs, and when the PACS took them.
CREATE TABLE node_results (
    job              INTEGER NOT NULL REFERENCES node_jobs (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('preview', 'volume', 'synthetic2d', 'cad_sr')),
    sop_instance_uid TEXT NOT NULL UNIQUE,
    path             TEXT NOT NULL,            -- relative to the store folder
    sent_at          REAL,                     -- NULL until the PACS acknowledged it
    PRIMARY KEY (job, kind)
);
