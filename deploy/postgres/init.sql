-- Run once by the postgres image when its data volume is first initialised.
-- One database per service (docs/design.md, Storage).
CREATE DATABASE casebridge_intake;
CREATE DATABASE casebridge_sharing;
CREATE DATABASE casebridge_review;
CREATE DATABASE casebridge_stats;
