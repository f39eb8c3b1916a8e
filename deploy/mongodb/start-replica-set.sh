#!/usr/bin/env bash
# Starts a local single-node MongoDB replica set for MongoDB mode and the gated tests
# (make test-mongo): with a local `mongod` if there is one, else with Docker's mongo:7.
# Prints the URI to export as VIYA_MV_MONGODB_URI. Debian 12 ships no MongoDB server:
# install it from mongodb.org, or use Docker.
#   deploy/mongodb/start-replica-set.sh [DATA_DIR] [PORT]
set -euo pipefail
dir=${1:-/tmp/viya-mv-mongodb}
port=${2:-27017}
uri="mongodb://127.0.0.1:${port}/?replicaSet=rs0&directConnection=true"

if command -v mongod >/dev/null 2>&1; then
  mkdir -p "$dir"
  mongod --replSet rs0 --port "$port" --bind_ip 127.0.0.1 --dbpath "$dir" \
    --oplogSize 2048 --fork --logpath "$dir/mongod.log"
  shell=(mongosh --quiet "mongodb://127.0.0.1:${port}/?directConnection=true")
elif command -v docker >/dev/null 2>&1; then
  docker run -d --name viya-mv-mongodb -p "127.0.0.1:${port}:27017" mongo:7 \
    --replSet rs0 --bind_ip_all --oplogSize 2048 >/dev/null
  shell=(docker exec viya-mv-mongodb mongosh --quiet)
else
  echo "start-replica-set: neither mongod nor docker is installed" >&2
  exit 1
fi

for _ in $(seq 1 60); do
  if "${shell[@]}" --eval 'db.adminCommand({ping: 1}).ok' >/dev/null 2>&1; then break; fi
  sleep 1
done
"${shell[@]}" --eval "
  try { rs.status() } catch (e) {
    rs.initiate({_id: 'rs0', members: [{_id: 0, host: '127.0.0.1:${port}'}]})
  }
  while (!db.hello().isWritablePrimary) { sleep(200) }
  const viya = db.getSiblingDB('viya');
  for (const c of ['shipments', 'tracking_events', 'customers', 'carriers']) {
    if (!viya.getCollectionNames().includes(c)) viya.createCollection(c);
    viya.runCommand({collMod: c, changeStreamPreAndPostImages: {enabled: true}});
  }
  viya.shipments.createIndex({organizationId: 1, _id: 1});
  viya.tracking_events.createIndex({organizationId: 1, shipmentId: 1});
  viya.tracking_events.createIndex({organizationId: 1, carrierId: 1, eventId: 1}, {unique: true});
  viya.customers.createIndex({organizationId: 1, _id: 1});
  viya.carriers.createIndex({organizationId: 1, _id: 1});
" >/dev/null
echo "replica set rs0 is up; export VIYA_MV_MONGODB_URI='${uri}'"
