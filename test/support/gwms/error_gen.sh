#!/bin/bash
# A test stand-in for GlideinWMS's creation/web_base/error_gen.sh, from its documented interface:
#   error_gen.sh -ok    ID [NAME VALUE]...
#   error_gen.sh -error ID CATEGORY DETAIL [NAME VALUE]...
# It (re)writes otrb_output.xml in the current directory: an OSGTestResult with status OK or ERROR,
# one metric per NAME VALUE pair (for -error first the metric "failure" = CATEGORY) and, for -error,
# the DETAIL text. glidein_startup.sh and script_wrapper.sh collect that file after each script.
report() { # status id
    printf '<?xml version="1.0"?>\n<OSGTestResult id="%s" version="4.3.1">\n  <result>\n    <status>%s</status>\n' "$2" "$1" > otrb_output.xml
}
metric() { printf '    <metric name="%s" ts="%s" uri="local">%s</metric>\n' "$1" "$(date +%Y-%m-%dT%H:%M:%S%:z)" "$2" >> otrb_output.xml; }
case "$1" in
-ok)
    report OK "$2"; shift 2
    while (( $# > 1 )); do metric "$1" "$2"; shift 2; done
    echo "  </result>" >> otrb_output.xml ;;
-error)
    report ERROR "$2"; metric failure "$3"; detail=$4; shift 4
    while (( $# > 1 )); do metric "$1" "$2"; shift 2; done
    printf '  </result>\n  <detail>\n    %s\n  </detail>\n' "$detail" >> otrb_output.xml ;;
*) echo "Usage: -error|-ok [params]" >&2; exit 1 ;;
esac
echo "</OSGTestResult>" >> otrb_output.xml
