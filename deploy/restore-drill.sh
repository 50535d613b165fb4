#!/bin/sh
# Restore drill on SQLite, end to end: make a sample installation with an incident and a
# piece of evidence, back up the database, the evidence store and the ledger key, restore
# them into a fresh directory, and prove the restored copy: migrations, `coherence doctor`,
# the ledger bundle verified against the verifier key published before the backup, the
# evidence re-hashed, and the same signed checkpoint as before.
#
# Usage: deploy/restore-drill.sh [WORK_DIR]    (default: a new temporary directory)
# COHERENCE names the command to run (default: coherence on PATH).
# Exits 0 and prints "restore drill passed" only when every step succeeded.
set -eu

COHERENCE=${COHERENCE:-coherence}
WORK=${1:-$(mktemp -d "${TMPDIR:-/tmp}/coherence-drill.XXXXXX")}
LIVE="$WORK/live"
BACKUP="$WORK/backup"
RESTORED="$WORK/restored"

# The drill must only ever touch its own directories, whatever the caller's environment says.
unset COHERENCE_DATABASE_URL COHERENCE_EVIDENCE_DIR COHERENCE_LEDGER_KEY_FILE COHERENCE_AS
export COHERENCE_ENVIRONMENT=development
umask 077

step() { printf '== %s\n' "$*"; }

sqlite_backup() {
    # SQLite's online backup: consistent even while Coherence is writing (WAL mode).
    if command -v sqlite3 >/dev/null 2>&1; then
        sqlite3 "$1" ".backup '$2'"
    else
        python3 -c 'import sqlite3, sys
src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.close()
src.close()' "$1" "$2"
    fi
}

for dir in "$LIVE" "$BACKUP" "$RESTORED"; do
    if [ -e "$dir" ]; then
        echo "error: $dir already exists; give the drill an empty work directory" >&2
        exit 1
    fi
done
mkdir -p "$LIVE" "$BACKUP"

step "1. a live installation in $LIVE"
export COHERENCE_DATA_DIR="$LIVE"
"$COHERENCE" init --sample >/dev/null
"$COHERENCE" incident open --asset fridge-1 --playbook dilution-refrigerator-warm-up \
    --as amara-osei >/dev/null
printf 'MXC 31 mK at 10:02; 4K flange 4.2 K\n' >"$WORK/fridge-1-log.txt"
"$COHERENCE" evidence collect "$WORK/fridge-1-log.txt" --tlp AMBER --incident INC-00001 \
    --asset fridge-1 --as amara-osei >/dev/null
# One worker pass signs a checkpoint over everything so far (its pages go to the console).
"$COHERENCE" worker run --once >/dev/null 2>&1

step "2. back up the database, the evidence store and the ledger key to $BACKUP"
# The verifier key is public and is kept apart from the backup (published, printed, escrowed):
# the restored ledger must verify against it, not against a key taken from the backup itself.
"$COHERENCE" ledger key >"$WORK/verifier-key.txt"
"$COHERENCE" ledger checkpoint >"$BACKUP/checkpoint-at-backup.txt"
sqlite_backup "$LIVE/coherence.db" "$BACKUP/coherence.db"
tar -C "$LIVE" -cf "$BACKUP/evidence.tar" evidence
cp "$LIVE/ledger-signer.key" "$BACKUP/ledger-signer.key"

step "3. restore into a fresh directory, $RESTORED"
mkdir -p "$RESTORED"
cp "$BACKUP/coherence.db" "$RESTORED/coherence.db"
tar -C "$RESTORED" -xf "$BACKUP/evidence.tar"
cp "$BACKUP/ledger-signer.key" "$RESTORED/ledger-signer.key"
chmod 600 "$RESTORED/ledger-signer.key"

step "4. prove the restored copy"
export COHERENCE_DATA_DIR="$RESTORED"
"$COHERENCE" db current
"$COHERENCE" doctor --no-send
"$COHERENCE" ledger checkpoint >"$WORK/checkpoint-after-restore.txt"
if ! cmp -s "$BACKUP/checkpoint-at-backup.txt" "$WORK/checkpoint-after-restore.txt"; then
    echo "error: the restored ledger's checkpoint differs from the one taken at backup" >&2
    exit 1
fi
"$COHERENCE" ledger export "$WORK/restored-ledger.json"
"$COHERENCE" ledger verify "$WORK/restored-ledger.json" --key "$WORK/verifier-key.txt"
"$COHERENCE" evidence verify

echo "restore drill passed: $WORK"
