-- dkim-tables.sql - PostgreSQL tables for dsn: data sets (opendkim.conf(5)
-- DATA SETS), laid out as OpenDKIM's README.SQL does: a KeyTable keyed by
-- an id, a SigningTable from author pattern to that id, a host list.
--   psql -d dkim -f dkim-tables.sql
-- and in opendkim.conf (one line each; PASSWORD and the host are yours):
--   KeyTable      dsn:pgsql://dkim:PASSWORD@5432+db.example/dkim/table=dkim_keys?keycol=id?datacol=domain_name,selector,private_key
--   SigningTable  dsn:pgsql://dkim:PASSWORD@5432+db.example/dkim/table=dkim_signing?keycol=author?datacol=dkim_id
--   InternalHosts dsn:pgsql://dkim:PASSWORD@5432+db.example/dkim/table=dkim_internal?keycol=host?datacol=host
-- The milter reads each table whole, every ttl seconds (?ttl=N, or
-- DataSetTTL, default 60): it only needs SELECT on them, and never queries
-- per message. While the server is down the tables read last keep signing
-- the domains they list; others are tempfail (opendkim.conf(5), Outages).

CREATE TABLE dkim_keys (
	id          VARCHAR(64) PRIMARY KEY,  -- the KeyTable key name
	domain_name VARCHAR(255) NOT NULL,    -- d= ("%": the sender's domain)
	selector    VARCHAR(63) NOT NULL,     -- s=
	private_key TEXT NOT NULL             -- a key file path, or the key itself
);

CREATE TABLE dkim_signing (
	author      VARCHAR(255) NOT NULL,    -- user@example.com, example.com, .example.com, *
	dkim_id     VARCHAR(64) NOT NULL REFERENCES dkim_keys (id)
);
CREATE INDEX dkim_signing_author ON dkim_signing (author);

CREATE TABLE dkim_internal (
	host        VARCHAR(255) PRIMARY KEY  -- an address, a CIDR block or a name
);

INSERT INTO dkim_keys VALUES
	('example', 'example.com', 'mail', '/etc/dkimkeys/example.private');
INSERT INTO dkim_signing VALUES ('example.com', 'example');
INSERT INTO dkim_internal VALUES ('127.0.0.1'), ('::1'), ('192.0.2.0/24');

-- The milter's database user reads only:
--   CREATE ROLE dkim LOGIN PASSWORD '...';
--   GRANT SELECT ON dkim_keys, dkim_signing, dkim_internal TO dkim;
