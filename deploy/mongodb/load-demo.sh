#!/usr/bin/env bash
# Loads platform-shaped demo documents into the local replica set's `viya` database:
# two orgs, their customers and carriers, shipments with BSON dates and $numberDecimal
# values, and tracking events. Run viya-mv with source.backend = "mongodb" against it
# and the views fill from the snapshot, then follow the change stream.
#   deploy/mongodb/load-demo.sh [URI] [SHIPMENTS]
set -euo pipefail
uri=${1:-${VIYA_MV_MONGODB_URI:-mongodb://127.0.0.1:27017/?replicaSet=rs0&directConnection=true}}
count=${2:-1000}
mongosh --quiet "$uri" --eval "
  const viya = db.getSiblingDB('viya');
  const orgs = ['acme-retail', 'globex'];
  const carriers = ['dhl', 'ups', 'postnl'];
  const statuses = ['booked', 'picked_up', 'in_transit', 'out_for_delivery', 'delivered', 'exception'];
  for (const org of orgs) {
    for (const c of carriers) {
      viya.carriers.replaceOne({_id: c, organizationId: org},
        {_id: c, organizationId: org, name: c.toUpperCase()}, {upsert: true});
    }
    for (let i = 1; i <= 20; i++) {
      viya.customers.replaceOne({_id: 'C-' + i, organizationId: org},
        {_id: 'C-' + i, organizationId: org, name: 'Customer ' + i}, {upsert: true});
    }
  }
  const now = Date.now();
  const shipments = [], events = [];
  for (let n = 1; n <= ${count}; n++) {
    const org = orgs[n % orgs.length], carrier = carriers[n % carriers.length];
    const created = new Date(now - (n % 240) * 3600e3);
    shipments.push({_id: 'S-' + n, organizationId: org, reference: 'PO-' + n,
      customerId: 'C-' + (1 + n % 20), carrierId: carrier, service: 'standard',
      status: statuses[n % statuses.length], createdAt: created,
      promisedDeliveryAt: new Date(created.getTime() + 72 * 3600e3),
      weightKg: 1.5 + (n % 40), declaredValue: NumberDecimal((n % 500) + '.25'), currency: 'EUR',
      origin: {country: 'NL'}, destination: {country: ['DE', 'BR', 'FR'][n % 3]}});
    events.push({organizationId: org, eventId: 'E-' + n, shipmentId: 'S-' + n, carrierId: carrier,
      code: 'PU', occurredAt: new Date(created.getTime() + 3600e3), location: 'hub'});
  }
  viya.shipments.insertMany(shipments, {ordered: false});
  viya.tracking_events.insertMany(events, {ordered: false});
  print('loaded ' + shipments.length + ' shipments and ' + events.length + ' tracking events');
"
