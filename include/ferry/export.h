/*
 * ferry/export.h - FERRY_API marks what libferry exports.  The library is
 * built with -fvisibility=hidden, so a function or object is visible to
 * programs linking libferry.so only when its declaration in include/ferry/
 * carries FERRY_API; everything else (the headers under hooks/, transfer/, core/)
 * stays inside the library.  `nm -D --defined-only libferry.so` lists ferry_
 * symbols only (tests/integration/install_prefix.sh checks it).
 */
#ifndef FERRY_EXPORT_H
#define FERRY_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define FERRY_API __attribute__((visibility("default")))
#else
#define FERRY_API
#endif

#endif
