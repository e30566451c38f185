#!/bin/sh
# Start Mosquitto with a password file and ACL assembled at start, and keep them current.
#
#   VIGIL_MQTT_CLOUD_PASSWORD    the cloud's password (user vigil.cloud); required
#   $BASE/config/mosquitto.conf  deploy/mosquitto/mosquitto.conf (mounted read-only)
#   $BASE/config/acl             deploy/mosquitto/acl (mounted read-only)
#   $BASE/devices/passwd         device lines (`user:$7$...`) appended by
#                                deploy/provision.py --broker-passwd, or by hand
#   VIGIL_DEVICES_GID            group that may append there (the edge image's: 10001)
#   VIGIL_MOSQUITTO_BASE         $BASE, /mosquitto in the eclipse-mosquitto image
#
# Mosquitto reads password_file and acl_file from $BASE/auth, owned by its own user and
# mode 0600 (Mosquitto 2 warns about, and later versions refuse, files others can read).
# The devices file and the ACL are watched: on a change both are rebuilt and Mosquitto
# reloads them on SIGHUP (mosquitto(8), SIGNALS), so a newly provisioned device logs in
# without a broker restart.
set -eu

BASE=${VIGIL_MOSQUITTO_BASE:-/mosquitto}
AUTH_DIR=$BASE/auth
DEVICES_DIR=$BASE/devices
DEVICES_FILE=$DEVICES_DIR/passwd
ACL_SOURCE=$BASE/config/acl
CONFIG=$BASE/config/mosquitto.conf
CLOUD_USER=vigil.cloud
BROKER_USER=${VIGIL_MOSQUITTO_USER:-mosquitto}

: "${VIGIL_MQTT_CLOUD_PASSWORD:?set VIGIL_MQTT_CLOUD_PASSWORD (the cloud's MQTT password)}"

prepare_dirs() {
    mkdir -p "$AUTH_DIR" "$DEVICES_DIR" "$BASE/data"
    chown "$BROKER_USER:$BROKER_USER" "$AUTH_DIR" "$BASE/data"
    chmod 0700 "$AUTH_DIR"
    # provision (non-root, edge image) appends device lines here; the broker never reads
    # this folder itself, only the copy in $AUTH_DIR.
    chown "root:${VIGIL_DEVICES_GID:-10001}" "$DEVICES_DIR"
    chmod 2770 "$DEVICES_DIR"
}

install_private() {  # install_private SOURCE NAME: copy to $AUTH_DIR, 0600, broker-owned
    tmp="$AUTH_DIR/.$2.tmp"
    cat "$1" > "$tmp"
    chmod 0600 "$tmp"
    chown "$BROKER_USER:$BROKER_USER" "$tmp"
    mv "$tmp" "$AUTH_DIR/$2"
}

build_auth() {
    lines="$AUTH_DIR/.passwd.src"
    : > "$lines"
    chmod 0600 "$lines"
    # -b takes the password on the command line; that is visible inside this container only.
    mosquitto_passwd -b "$lines" "$CLOUD_USER" "$VIGIL_MQTT_CLOUD_PASSWORD"
    if [ -s "$DEVICES_FILE" ]; then
        # Only hashed lines, and never one that would replace the cloud's user.
        grep -v "^${CLOUD_USER}:" "$DEVICES_FILE" | grep ':\$[67]\$' >> "$lines" || true
    fi
    install_private "$lines" passwd
    rm -f "$lines"
    install_private "$ACL_SOURCE" acl
}

inputs_stamp() {
    for f in "$DEVICES_FILE" "$ACL_SOURCE"; do
        if [ -e "$f" ]; then cksum < "$f"; else echo none; fi
    done
}

prepare_dirs
build_auth
mosquitto -c "$CONFIG" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT
stamp=$(inputs_stamp)
while kill -0 "$pid" 2>/dev/null; do
    sleep 2 &
    wait $! || true
    now=$(inputs_stamp)
    if [ "$now" != "$stamp" ]; then
        stamp=$now
        build_auth
        kill -HUP "$pid" 2>/dev/null || true
        echo "vigil: devices file or ACL changed; Mosquitto reloaded them"
    fi
done
wait "$pid"
