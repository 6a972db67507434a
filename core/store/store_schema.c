/* The schema as an ordered list of forward migrations: step N takes a
 * database from user_version N-1 to N. A new version appends a step and
 * bumps STORE_SCHEMA_VERSION; a released step is never edited. */
#include <errno.h>
#include <stdio.h>

#include "store/store_internal.h"

static const char schema_v1[] =
	"CREATE TABLE domains ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY,"
	"  domain INTEGER NOT NULL REFERENCES domains(id) ON DELETE RESTRICT,"
	"  address TEXT NOT NULL COLLATE NOCASE UNIQUE,"
	"  password_hash TEXT NOT NULL,"
	"  password_changed INTEGER NOT NULL,"
	"  secondary TEXT,"
	"  lang TEXT,"
	"  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
	"  created INTEGER NOT NULL"
	");"
	"CREATE INDEX accounts_domain ON accounts(domain);"
	"CREATE TABLE password_history ("
	"  id INTEGER PRIMARY KEY,"
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  hash TEXT NOT NULL,"
	"  changed INTEGER NOT NULL"
	");"
	"CREATE INDEX password_history_account ON password_history(account, id);"
	"CREATE TABLE aliases ("
	"  id INTEGER PRIMARY KEY,"
	/* No cascade: deleting a domain that still has aliases is refused,
	 * like one that still has accounts. */
	"  domain INTEGER NOT NULL REFERENCES domains(id),"
	"  source TEXT NOT NULL COLLATE NOCASE,"
	"  target TEXT NOT NULL COLLATE NOCASE,"
	"  UNIQUE (source, target)"
	");"
	"CREATE TABLE mailboxes ("
	"  id INTEGER PRIMARY KEY,"
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  uidvalidity INTEGER NOT NULL,"
	"  uidnext INTEGER NOT NULL DEFAULT 1,"
	"  highestmodseq INTEGER NOT NULL DEFAULT 1,"
	"  special_use TEXT,"
	"  subscribed INTEGER NOT NULL DEFAULT 1,"
	"  UNIQUE (account, name)"
	");"
	"CREATE TABLE blobs ("
	/* AUTOINCREMENT: an id is never reused, so a mailbox view holding
	 * the id of an expunged message can never read another message. */
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  sha256 BLOB NOT NULL UNIQUE,"
	"  size INTEGER NOT NULL,"
	"  refcount INTEGER NOT NULL DEFAULT 0,"
	"  data BLOB NOT NULL"
	");"
	/* Keeps the per-commit sweep of unreferenced blobs an index probe. */
	"CREATE INDEX blobs_unreferenced ON blobs(id) WHERE refcount <= 0;"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  uid INTEGER NOT NULL,"
	"  blob INTEGER NOT NULL REFERENCES blobs(id),"
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  keywords TEXT NOT NULL DEFAULT '',"
	"  internaldate INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  modseq INTEGER NOT NULL,"
	"  UNIQUE (mailbox, uid)"
	");"
	"CREATE INDEX messages_blob ON messages(blob);"
	"CREATE TABLE queue ("
	"  id INTEGER PRIMARY KEY,"
	"  sender TEXT NOT NULL,"
	"  blob INTEGER NOT NULL REFERENCES blobs(id),"
	"  created INTEGER NOT NULL,"
	"  next_attempt INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  giveup INTEGER NOT NULL"
	");"
	"CREATE INDEX queue_next_attempt ON queue(next_attempt);"
	"CREATE INDEX queue_blob ON queue(blob);"
	"CREATE TABLE queue_rcpts ("
	"  id INTEGER PRIMARY KEY,"
	"  queue INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,"
	"  address TEXT NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  last_reply TEXT"
	");"
	"CREATE INDEX queue_rcpts_queue ON queue_rcpts(queue);"
	"CREATE TABLE module_state ("
	"  module TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value BLOB NOT NULL,"
	"  expires_at INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (module, key)"
	") WITHOUT ROWID;"
	"CREATE INDEX module_state_expiry ON module_state(expires_at)"
	"  WHERE expires_at > 0;"
	/* Blob refcounts live in SQL so that every path that removes a
	 * reference (expunge, queue done, ON DELETE CASCADE from an account)
	 * keeps them right without C code having to remember. */
	"CREATE TRIGGER messages_blob_ref AFTER INSERT ON messages BEGIN"
	"  UPDATE blobs SET refcount = refcount + 1 WHERE id = NEW.blob;"
	"END;"
	"CREATE TRIGGER messages_blob_unref AFTER DELETE ON messages BEGIN"
	"  UPDATE blobs SET refcount = refcount - 1 WHERE id = OLD.blob;"
	"  DELETE FROM blobs WHERE id = OLD.blob AND refcount <= 0;"
	"END;"
	"CREATE TRIGGER messages_blob_move AFTER UPDATE OF blob ON messages"
	"  WHEN NEW.blob IS NOT OLD.blob BEGIN"
	"  UPDATE blobs SET refcount = refcount + 1 WHERE id = NEW.blob;"
	"  UPDATE blobs SET refcount = refcount - 1 WHERE id = OLD.blob;"
	"  DELETE FROM blobs WHERE id = OLD.blob AND refcount <= 0;"
	"END;"
	"CREATE TRIGGER queue_blob_ref AFTER INSERT ON queue BEGIN"
	"  UPDATE blobs SET refcount = refcount + 1 WHERE id = NEW.blob;"
	"END;"
	"CREATE TRIGGER queue_blob_unref AFTER DELETE ON queue BEGIN"
	"  UPDATE blobs SET refcount = refcount - 1 WHERE id = OLD.blob;"
	"  DELETE FROM blobs WHERE id = OLD.blob AND refcount <= 0;"
	"END;"
	"CREATE TRIGGER queue_blob_move AFTER UPDATE OF blob ON queue"
	"  WHEN NEW.blob IS NOT OLD.blob BEGIN"
	"  UPDATE blobs SET refcount = refcount + 1 WHERE id = NEW.blob;"
	"  UPDATE blobs SET refcount = refcount - 1 WHERE id = OLD.blob;"
	"  DELETE FROM blobs WHERE id = OLD.blob AND refcount <= 0;"
	"END;";

/* v2, IMAP: incremental view syncs read the changes since a modseq; the
 * MIME summaries are per blob, so a message stored for 50 recipients is
 * parsed once, and they go with the blob. */
static const char schema_v2[] =
	"CREATE INDEX messages_modseq ON messages(mailbox, modseq);"
	"CREATE TABLE mime ("
	"  blob INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,"
	"  envelope TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  bodystructure TEXT NOT NULL,"
	"  parts TEXT NOT NULL"
	");";

/* v3: RFC 3501 2.3.1.1 wants a mailbox deleted and created again under
 * its name to get a new UIDVALIDITY. New ones were one above the highest
 * among the account's current mailboxes, which the deleted one no longer
 * counts in: the account now remembers the highest it ever gave. */
static const char schema_v3[] =
	"ALTER TABLE accounts ADD COLUMN"
	"  last_uidvalidity INTEGER NOT NULL DEFAULT 0;"
	"UPDATE accounts SET last_uidvalidity = coalesce("
	"  (SELECT max(uidvalidity) FROM mailboxes"
	"   WHERE mailboxes.account = accounts.id), 0);"
	"CREATE TRIGGER mailboxes_last_uidvalidity AFTER INSERT ON mailboxes"
	"  BEGIN"
	"  UPDATE accounts SET last_uidvalidity ="
	"    max(last_uidvalidity, NEW.uidvalidity) WHERE id = NEW.account;"
	"END;";

/* v4: clients poll STATUS (and LIST-STATUS) on every folder, most of
 * which no session has open; counting their rows each time made a poll of
 * a 100,000-message folder cost tens of milliseconds. Each mailbox keeps
 * its counts, kept right by triggers in the same transaction as the
 * change, whatever path inserts, flags, moves or deletes a message. */
static const char schema_v4[] =
	"ALTER TABLE mailboxes ADD COLUMN"
	"  message_count INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mailboxes ADD COLUMN"
	"  unseen_count INTEGER NOT NULL DEFAULT 0;"
	"UPDATE mailboxes SET"
	"  message_count = (SELECT count(*) FROM messages"
	"                   WHERE messages.mailbox = mailboxes.id),"
	"  unseen_count = (SELECT count(*) FROM messages"
	"                  WHERE messages.mailbox = mailboxes.id"
	"                  AND (flags & 1) = 0);"
	"CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN"
	"  UPDATE mailboxes SET message_count = message_count + 1,"
	"    unseen_count = unseen_count + ((NEW.flags & 1) = 0)"
	"    WHERE id = NEW.mailbox;"
	"END;"
	"CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN"
	"  UPDATE mailboxes SET message_count = message_count - 1,"
	"    unseen_count = unseen_count - ((OLD.flags & 1) = 0)"
	"    WHERE id = OLD.mailbox;"
	"END;"
	"CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox, flags"
	"  ON messages WHEN NEW.mailbox IS NOT OLD.mailbox"
	"  OR (NEW.flags & 1) IS NOT (OLD.flags & 1) BEGIN"
	"  UPDATE mailboxes SET message_count = message_count - 1,"
	"    unseen_count = unseen_count - ((OLD.flags & 1) = 0)"
	"    WHERE id = OLD.mailbox;"
	"  UPDATE mailboxes SET message_count = message_count + 1,"
	"    unseen_count = unseen_count + ((NEW.flags & 1) = 0)"
	"    WHERE id = NEW.mailbox;"
	"END;";

/* v5, quotas (RFC 9208): each mailbox also keeps the octets of its
 * messages (the RFC822.SIZE IMAP and POP3 report, one per copy: a body
 * stored once for 50 local recipients counts once in each mailbox), so an
 * account's usage is a sum over its few mailbox rows, exact in the same
 * transaction as any change, and right without C code after a mailbox or
 * account delete (the rows go with what they count). The v4 triggers are
 * replaced by ones that keep bytes too. Limits: an account's own (NULL:
 * its domain's default; 0: none) and a domain's default (NULL or 0:
 * none); quota_warned is the threshold (percent) of the account's last
 * warning mail, written in the transaction that sent it. */
static const char schema_v5[] =
	"ALTER TABLE mailboxes ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;"
	"UPDATE mailboxes SET bytes = coalesce((SELECT sum(size) FROM messages"
	"  WHERE messages.mailbox = mailboxes.id), 0);"
	"ALTER TABLE accounts ADD COLUMN quota_storage INTEGER;"
	"ALTER TABLE accounts ADD COLUMN quota_messages INTEGER;"
	"ALTER TABLE accounts ADD COLUMN"
	"  quota_warned INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE domains ADD COLUMN quota_storage INTEGER;"
	"ALTER TABLE domains ADD COLUMN quota_messages INTEGER;"
	"DROP TRIGGER messages_count_insert;"
	"DROP TRIGGER messages_count_delete;"
	"DROP TRIGGER messages_count_update;"
	"CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN"
	"  UPDATE mailboxes SET message_count = message_count + 1,"
	"    unseen_count = unseen_count + ((NEW.flags & 1) = 0),"
	"    bytes = bytes + NEW.size"
	"    WHERE id = NEW.mailbox;"
	"END;"
	"CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN"
	"  UPDATE mailboxes SET message_count = message_count - 1,"
	"    unseen_count = unseen_count - ((OLD.flags & 1) = 0),"
	"    bytes = bytes - OLD.size"
	"    WHERE id = OLD.mailbox;"
	"END;"
	"CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox, flags,"
	"  size ON messages WHEN NEW.mailbox IS NOT OLD.mailbox"
	"  OR (NEW.flags & 1) IS NOT (OLD.flags & 1)"
	"  OR NEW.size IS NOT OLD.size BEGIN"
	"  UPDATE mailboxes SET message_count = message_count - 1,"
	"    unseen_count = unseen_count - ((OLD.flags & 1) = 0),"
	"    bytes = bytes - OLD.size"
	"    WHERE id = OLD.mailbox;"
	"  UPDATE mailboxes SET message_count = message_count + 1,"
	"    unseen_count = unseen_count + ((NEW.flags & 1) = 0),"
	"    bytes = bytes + NEW.size"
	"    WHERE id = NEW.mailbox;"
	"END;";

/* v6, IMAP conformance (issue 19):
 * - a RENAME gives the renamed mailboxes a new UIDVALIDITY, and the
 *   account's last one must follow it as it follows an insert;
 * - \Recent (RFC 3501 2.3.2) belongs to the first session told of a
 *   message, across restarts: each mailbox keeps the first UID no
 *   session has claimed. Mail already there when this step runs counts
 *   as seen; a new mailbox starts at 1;
 * - the subscription list is names, whatever mailboxes exist (RFC 3501
 *   6.3.6: the server never removes one on its own, a DELETE or RENAME
 *   included): a table of its own instead of a flag on each mailbox. */
static const char schema_v6[] =
	"CREATE TRIGGER mailboxes_last_uidvalidity_update"
	"  AFTER UPDATE OF uidvalidity ON mailboxes BEGIN"
	"  UPDATE accounts SET last_uidvalidity ="
	"    max(last_uidvalidity, NEW.uidvalidity) WHERE id = NEW.account;"
	"END;"
	"ALTER TABLE mailboxes ADD COLUMN"
	"  recent_uid INTEGER NOT NULL DEFAULT 1;"
	"UPDATE mailboxes SET recent_uid = uidnext;"
	"CREATE TABLE subscriptions ("
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  PRIMARY KEY (account, name)"
	") WITHOUT ROWID;"
	"INSERT INTO subscriptions (account, name)"
	"  SELECT account, name FROM mailboxes WHERE subscribed = 1;"
	"ALTER TABLE mailboxes DROP COLUMN subscribed;";

/* v7, CONDSTORE/QRESYNC and STATUS DELETED (issue 19):
 * - QRESYNC (RFC 7162 3.2.5) tells a client which of the UIDs it knows
 *   were expunged since a modseq: an expunge leaves a tombstone (mailbox,
 *   UID, the modseq of the expunge), written by a trigger so that every
 *   path (EXPUNGE, MOVE, emptying INBOX on RENAME) leaves one, and the
 *   trigger takes the modseq itself (one per expunged message). A
 *   mailbox's tombstones go with it (a cascade must not leave the ones
 *   its own messages' deletes wrote). The oldest are pruned past a bound
 *   (store_txn_vanished_prune); vanished_floor is the modseq up to which
 *   they may be missing, so a client further behind gets every UID it
 *   may know that is not there any more (a superset the RFC allows).
 *   Existing mailboxes start with their floor at their highestmodseq:
 *   their past expunges left no tombstone;
 * - RFC 9208's STATUS DELETED and DELETED-STORAGE: each mailbox counts
 *   its \Deleted messages and their octets, kept by the count triggers
 *   (replaced) like the unseen count. */
static const char schema_v7[] =
	"CREATE TABLE expunged ("
	"  mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  uid INTEGER NOT NULL,"
	"  modseq INTEGER NOT NULL,"
	"  PRIMARY KEY (mailbox, uid)"
	") WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged(mailbox, modseq);"
	"ALTER TABLE mailboxes ADD COLUMN"
	"  vanished_floor INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mailboxes ADD COLUMN"
	"  vanished_count INTEGER NOT NULL DEFAULT 0;"
	"UPDATE mailboxes SET vanished_floor = highestmodseq;"
	"CREATE TRIGGER messages_tombstone AFTER DELETE ON messages BEGIN"
	"  UPDATE mailboxes SET highestmodseq = highestmodseq + 1,"
	"    vanished_count = vanished_count + 1 WHERE id = OLD.mailbox;"
	"  INSERT OR REPLACE INTO expunged (mailbox, uid, modseq)"
	"    SELECT OLD.mailbox, OLD.uid, highestmodseq FROM mailboxes"
	"    WHERE id = OLD.mailbox;"
	"END;"
	/* A cascade deletes the messages while the mailbox row can still be
	 * read: their tombstones go after it. */
	"CREATE TRIGGER mailboxes_tombstones AFTER DELETE ON mailboxes BEGIN"
	"  DELETE FROM expunged WHERE mailbox = OLD.id;"
	"END;"
	"ALTER TABLE mailboxes ADD COLUMN"
	"  deleted_count INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mailboxes ADD COLUMN"
	"  deleted_bytes INTEGER NOT NULL DEFAULT 0;"
	"UPDATE mailboxes SET"
	"  deleted_count = (SELECT count(*) FROM messages"
	"                   WHERE messages.mailbox = mailboxes.id"
	"                   AND (flags & 8) != 0),"
	"  deleted_bytes = coalesce((SELECT sum(size) FROM messages"
	"                   WHERE messages.mailbox = mailboxes.id"
	"                   AND (flags & 8) != 0), 0);"
	"DROP TRIGGER messages_count_insert;"
	"DROP TRIGGER messages_count_delete;"
	"DROP TRIGGER messages_count_update;"
	"CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN"
	"  UPDATE mailboxes SET message_count = message_count + 1,"
	"    unseen_count = unseen_count + ((NEW.flags & 1) = 0),"
	"    bytes = bytes + NEW.size,"
	"    deleted_count = deleted_count + ((NEW.flags & 8) != 0),"
	"    deleted_bytes = deleted_bytes + ((NEW.flags & 8) != 0) * NEW.size"
	"    WHERE id = NEW.mailbox;"
	"END;"
	"CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN"
	"  UPDATE mailboxes SET message_count = message_count - 1,"
	"    unseen_count = unseen_count - ((OLD.flags & 1) = 0),"
	"    bytes = bytes - OLD.size,"
	"    deleted_count = deleted_count - ((OLD.flags & 8) != 0),"
	"    deleted_bytes = deleted_bytes - ((OLD.flags & 8) != 0) * OLD.size"
	"    WHERE id = OLD.mailbox;"
	"END;"
	"CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox, flags,"
	"  size ON messages WHEN NEW.mailbox IS NOT OLD.mailbox"
	"  OR (NEW.flags & 9) IS NOT (OLD.flags & 9)"
	"  OR NEW.size IS NOT OLD.size BEGIN"
	"  UPDATE mailboxes SET message_count = message_count - 1,"
	"    unseen_count = unseen_count - ((OLD.flags & 1) = 0),"
	"    bytes = bytes - OLD.size,"
	"    deleted_count = deleted_count - ((OLD.flags & 8) != 0),"
	"    deleted_bytes = deleted_bytes - ((OLD.flags & 8) != 0) * OLD.size"
	"    WHERE id = OLD.mailbox;"
	"  UPDATE mailboxes SET message_count = message_count + 1,"
	"    unseen_count = unseen_count + ((NEW.flags & 1) = 0),"
	"    bytes = bytes + NEW.size,"
	"    deleted_count = deleted_count + ((NEW.flags & 8) != 0),"
	"    deleted_bytes = deleted_bytes + ((NEW.flags & 8) != 0) * NEW.size"
	"    WHERE id = NEW.mailbox;"
	"END;";

static const char *const migrations[] = {
	schema_v1,
	schema_v2,
	schema_v3,
	schema_v4,
	schema_v5,
	schema_v6,
	schema_v7,
};

_Static_assert(sizeof migrations / sizeof migrations[0] ==
		       STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

static int schema_version(struct store_conn *conn, int *version_r)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(conn->db, "PRAGMA user_version", -1, &stmt,
				NULL);
	if (rc != SQLITE_OK)
		return store_conn_fail(conn, rc, "user_version");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*version_r = sqlite3_column_int(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_OK)
		return store_conn_fail(conn, rc, "user_version");
	return 0;
}

static int schema_apply(struct store_conn *conn, int from)
{
	char sql[64];
	int ret;

	for (int v = from + 1; v <= STORE_SCHEMA_VERSION; v++) {
		ret = store_conn_exec(conn, migrations[v - 1]);
		if (ret < 0)
			return store_conn_errorf(conn, ret,
						 "migration to v%d: %.200s", v,
						 sqlite3_errmsg(conn->db));
		/* PRAGMA takes no parameters; v is our own integer. */
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
		ret = store_conn_exec(conn, sql);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int store_schema_migrate(struct store_conn *conn)
{
	int version = 0;
	int ret;

	/* Cheap check first so an up-to-date database (the common case, and
	 * the CLI racing the daemon) takes no write lock. */
	ret = schema_version(conn, &version);
	if (ret < 0)
		return ret;
	if (version == STORE_SCHEMA_VERSION)
		return 0;

	ret = store_conn_exec(conn, "BEGIN IMMEDIATE");
	if (ret < 0)
		return ret;
	/* Another process may have migrated between the check and the lock. */
	ret = schema_version(conn, &version);
	if (ret == 0 && version > STORE_SCHEMA_VERSION)
		ret = store_conn_errorf(conn, -EPROTO,
					"database schema v%d is newer than "
					"this postino (v%d)",
					version, STORE_SCHEMA_VERSION);
	if (ret == 0 && version < 0)
		ret = store_conn_errorf(conn, -EPROTO,
					"bad schema version %d", version);
	if (ret == 0)
		ret = schema_apply(conn, version);
	if (ret == 0)
		ret = store_conn_exec(conn, "COMMIT");
	if (ret < 0 && !sqlite3_get_autocommit(conn->db))
		sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}
