#!/usr/bin/env node
// Runner for the npm package @20minutes/s3rver@4.0.4, a maintained s3rver fork
// that verifies AWS SigV4 header and presigned-query signatures (it does NOT
// check x-amz-content-sha256 payload hashes; Ceph radosgw does). The published
// tarball has no bin/ file, so we drive its lib/cli.js ourselves.
// scripts/install-deps.sh installs the package into $FERRY_SVC_DIR/npm/s3v4.
//
// Usage: node s3v4.js -d DATA_DIR -a 127.0.0.1 -p 54570 --no-vhost-buckets \
//            --configure-bucket etl-bucket
// Env:   S3V4_MODULE_DIR  dir holding node_modules/@20minutes/s3rver
//                         (default $FERRY_SVC_DIR/npm/s3v4, /tmp/ferry-svc/npm/s3v4)
//        S3_ACCESS_KEY / S3_SECRET_KEY  extra key pair to accept (besides the
//                         built-in S3RVER/S3RVER)
'use strict';
const path = require('path');
const moduleDir = process.env.S3V4_MODULE_DIR ||
  path.join(process.env.FERRY_SVC_DIR || '/tmp/ferry-svc', 'npm', 's3v4');
const base = path.join(moduleDir, 'node_modules', '@20minutes', 's3rver', 'lib');
const argv = process.argv.slice(2);
const ai = argv.indexOf('-a') >= 0 ? argv.indexOf('-a') : argv.indexOf('--address');
if (ai < 0 || !/^127\./.test(argv[ai + 1] || '')) {
  console.error('s3v4.js: refusing to start without a loopback address (-a 127.0.0.1)');
  process.exit(2);
}
if (process.env.S3_ACCESS_KEY && process.env.S3_SECRET_KEY) {
  require(path.join(base, 'models', 'account.js')).DUMMY_ACCOUNT
    .createKeyPair(process.env.S3_ACCESS_KEY, process.env.S3_SECRET_KEY);
}
require(path.join(base, 'cli.js')).parseAsync(process.argv).catch((err) => {
  console.error(err);
  process.exit(1);
});
