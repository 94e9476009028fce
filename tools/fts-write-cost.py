#!/usr/bin/env python3
"""What an FTS5 index costs a writer, apart from Mosaic: where the search index's write cost comes
from (README, Performance -> Search).

A messages table like Mosaic's, 30 000 rows of random words, then single-message transactions and
ten-message transactions for 4 s each: without an index, with an FTS5 table like migration 0009's
but no prefix index, and with its `prefix = '2 3 4'`. FTS5 writes its pending terms out as a new
segment at every commit, so a one-message transaction pays that whatever the options; and with
migration 0011's queue in front of it, which moves 64 messages into the index at once.

    pip install pysqlite3-binary   # a current SQLite (Debian's 3.40 lacks contentless_delete)
    python3 tools/fts-write-cost.py
"""
import os
import random
import tempfile
import time

import pysqlite3.dbapi2 as sqlite3

WORDS = ("the of and to in is that it for on with as this was be by are or an at from have not but "
         "what all were when we there can your which their said if will each about how up out them then "
         "she many some so these would other into has more her two like him see time could no make than "
         "first been its who now people made over did down only way find use may water long little very "
         "after words called just where most know get through back much go good new write our man too "
         "any day same right look think also around another came come work three word must because does "
         "part even place well such here take why things help put years different away again off went "
         "old number great tell men say small every found still between name should home big give air "
         "line set own under read last never us left end along while might next sound below saw").split()
APPENDED = "a benchmark message about the search index and what it costs a writer"


def database(path, index):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = wal")
    db.execute("PRAGMA synchronous = normal")
    db.execute("CREATE TABLE conversations (id BLOB PRIMARY KEY, user_id BLOB)")
    db.execute("CREATE TABLE messages (id BLOB PRIMARY KEY, conversation_id BLOB, content TEXT, "
               "status TEXT, created_at INTEGER)")
    db.execute("INSERT INTO conversations VALUES (x'01', x'aa')")
    if index is not None:
        db.execute("CREATE VIRTUAL TABLE message_search USING fts5 (words, owner, content = '', "
                   f"contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'{index})")
        db.execute("""CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
                      WHEN new.status <> 'streaming' BEGIN
                        INSERT INTO message_search (rowid, words, owner)
                        SELECT new.rowid, new.content, 'u' || lower(hex(user_id))
                        FROM conversations WHERE id = new.conversation_id;
                      END""")
    rng = random.Random(1)
    db.execute("BEGIN")
    for i in range(30_000):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 150)))
        db.execute("INSERT INTO messages VALUES (?, x'01', ?, 'done', ?)", (os.urandom(16), text, i))
    db.execute("COMMIT")
    if index is not None:
        db.execute("INSERT INTO message_search (message_search) VALUES ('optimize')")
    return db


def queued(db):
    """Migration 0011's queue in front of the index, read from the migration itself: a message
    waits in `message_search_queue` and the 64th moves them all into FTS5, one segment for 64
    messages. (This table has only the insert trigger of 0009 for 0011 to replace.)"""
    migration = os.path.join(os.path.dirname(__file__), "..", "migrations", "sqlite", "0011_search_queue.sql")
    with open(migration) as f:
        db.executescript(f.read().replace("DROP TRIGGER ", "DROP TRIGGER IF EXISTS "))
    return db


def per_message(db, per_transaction, seconds=4.0):
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        db.execute("BEGIN IMMEDIATE")
        for _ in range(per_transaction):
            db.execute("INSERT INTO messages VALUES (?, x'01', ?, 'done', ?)", (os.urandom(16), APPENDED, n))
            n += 1
        db.execute("COMMIT")
    return (time.perf_counter() - started) / n * 1e6


def main():
    print(f"SQLite {sqlite3.sqlite_version}; microseconds per appended message")
    print("| index | 1 message a transaction | 10 messages a transaction |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as dir:
        for name, index, queue in [("none", None, False), ("FTS5, no prefix index", "", False),
                                   ("FTS5, prefix = '2 3 4'", ", prefix = '2 3 4'", False),
                                   ("FTS5, prefix = '2 3 4', behind a queue of 64 (migration 0011)",
                                    ", prefix = '2 3 4'", True)]:
            db = database(os.path.join(dir, f"{len(name)}.db"), index)
            if queue:
                queued(db)
            one, ten = per_message(db, 1), per_message(db, 10)
            print(f"| {name} | {one:.0f} | {ten:.0f} |")
            db.close()


if __name__ == "__main__":
    main()
