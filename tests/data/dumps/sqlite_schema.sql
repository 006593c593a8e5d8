CREATE TABLE [artists]
(
    [ArtistId] INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    [Name] NVARCHAR(120)
);
CREATE TABLE sqlite_sequence(name,seq);
CREATE TABLE [albums]
(
    [AlbumId] INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    [Title] NVARCHAR(160)  NOT NULL,
    [ArtistId] INTEGER  NOT NULL,
    FOREIGN KEY ([ArtistId]) REFERENCES [artists] ([ArtistId])
		ON DELETE NO ACTION ON UPDATE NO ACTION
);
CREATE INDEX [IFK_AlbumArtistId] ON [albums] ([ArtistId]);
CREATE TABLE tracks (TrackId INTEGER PRIMARY KEY, Name TEXT NOT NULL, AlbumId INTEGER REFERENCES albums (AlbumId), Milliseconds INTEGER);
CREATE TABLE IF NOT EXISTS "track plays" (
  id INTEGER PRIMARY KEY,
  track_id INTEGER NOT NULL REFERENCES tracks(TrackId),
  played_at TEXT DEFAULT (datetime('now')) -- when; CREATE TABLE fake_in_comment (x)
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;
CREATE VIRTUAL TABLE lyrics USING fts5(title, body, tokenize='porter')
/* lyrics(title,body) */;
CREATE TABLE IF NOT EXISTS 'lyrics_data'(id INTEGER PRIMARY KEY, block BLOB);
CREATE TABLE IF NOT EXISTS 'lyrics_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS 'lyrics_content'(id INTEGER PRIMARY KEY, c0, c1);
CREATE TABLE IF NOT EXISTS 'lyrics_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
CREATE TABLE IF NOT EXISTS 'lyrics_config'(k PRIMARY KEY, v) WITHOUT ROWID;
CREATE TRIGGER plays_ai AFTER INSERT ON "track plays" BEGIN
  UPDATE settings SET value = 'CREATE TABLE fake_in_trigger (x)' WHERE key = 'last';
END;
CREATE VIEW recent_plays AS SELECT * FROM "track plays" ORDER BY played_at DESC LIMIT 10
/* recent_plays(id,track_id,played_at) */;
