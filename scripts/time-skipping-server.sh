#!/usr/bin/env bash
# Installs Temporal's time-skipping test server (the Java SDK's, from Maven Central) under
# ~/.cache/notiflow/time-skipping-server/<version>, once, and prints the path of its launcher.
# @temporalio/testing would download it from GitHub at run time, which this machine cannot reach;
# test/helpers/time-skipping.ts starts this launcher through createTimeSkipping instead.
set -euo pipefail
VERSION=1.38.0
dir="${XDG_CACHE_HOME:-$HOME/.cache}/notiflow/time-skipping-server/$VERSION"
launcher="$dir/temporal-test-server"
mkdir -p "$dir"
# Test files that start at once wait for one install (flock holds until this script ends).
exec 9>"$dir.lock"
flock 9
if [ ! -x "$launcher" ]; then
  missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y --no-install-recommends "${missing[@]}" >&2
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>notiflow</groupId>
  <artifactId>time-skipping-server</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>$VERSION</version>
    </dependency>
    <!-- The server logs through SLF4J; without a binding it warns on every start. -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-nop</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
POM
  mvn -q -B -Dstyle.color=never -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/lib" >&2
  rm -rf "$dir/lib" "$dir/classes.jsa"
  mv "$work/lib" "$dir/lib"
  # createTimeSkipping runs the executable with one argument, the port, and gives it 5 s to answer:
  # a cold JVM takes 3 s of that on an idle 2-core machine, so the launcher uses a class-data
  # archive of the server's classes (made below; it starts in under 1 s) and a small-footprint JVM.
  jvm=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off)
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  java "${jvm[@]}" -XX:ArchiveClassesAtExit="$dir/classes.jsa" -cp "$dir/lib/*" io.temporal.testserver.TestServer "$port" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  sleep 1
  kill "$pid"
  wait "$pid" || true
  cat >"$launcher.tmp" <<SH
#!/bin/sh
here=\$(dirname "\$0")
archive=
[ -f "\$here/classes.jsa" ] && archive="-XX:SharedArchiveFile=\$here/classes.jsa"
exec java ${jvm[*]} \$archive -cp "\$here/lib/*" io.temporal.testserver.TestServer "\$@"
SH
  chmod +x "$launcher.tmp"
  mv "$launcher.tmp" "$launcher"
fi
echo "$launcher"
