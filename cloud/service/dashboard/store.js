// What the dashboard knows: devices, each device's latest event, open alerts, recent
// events. Filled from REST (at sign-in and after every reconnect) and kept current by the
// live stream. Views listen for "devices", "events" and "alerts".

const EVENTS_KEPT = 1000;

export class Store extends EventTarget {
  constructor() {
    super();
    this.devices = new Map(); // id -> DevicePublic
    this.latest = new Map(); // device id -> its newest EventPublic
    this.openAlerts = new Map(); // id -> AlertPublic (not acknowledged)
    this.events = []; // EventPublic, newest first (by id)
    this.acknowledged = []; // AlertPublic acknowledged in this session, newest first
    this.liveDuringSync = null; // stream updates that came while a REST sync was in flight
    this.synced = false; // the first REST sync is done
  }

  emit(kind, detail = null) {
    this.dispatchEvent(new CustomEvent(kind, { detail }));
  }

  roomName(deviceId) {
    const device = this.devices.get(deviceId);
    return device && device.name ? device.name : deviceId;
  }

  /** Start a REST sync: stream updates from now on are newer than what it will bring. */
  beginSync() {
    this.liveDuringSync = [];
  }

  /** Take the REST state of devices and open alerts, then re-apply the newer stream updates. */
  endSync(devices, openAlerts) {
    const newer = this.liveDuringSync || [];
    this.liveDuringSync = null;
    this.synced = true;
    this.devices = new Map(devices.map((d) => [d.id, d]));
    this.openAlerts = new Map(openAlerts.map((a) => [a.id, a]));
    for (const [kind, item] of newer) {
      if (kind === "device") this.devices.set(item.id, item);
      else this.applyAlert(item);
    }
    this.emit("devices");
    this.emit("alerts");
  }

  upsertDevice(device) {
    if (this.liveDuringSync) this.liveDuringSync.push(["device", device]);
    this.devices.set(device.id, device);
    this.emit("devices");
  }

  /** Merge events (any order) into the newest-first list; returns those not seen before. */
  addEvents(list) {
    const known = new Set(this.events.map((e) => e.id));
    const fresh = list.filter((e) => !known.has(e.id));
    if (fresh.length === 0) return fresh;
    this.events = [...fresh, ...this.events].sort((a, b) => b.id - a.id).slice(0, EVENTS_KEPT);
    for (const event of fresh) {
      const current = this.latest.get(event.device_id);
      if (!current || event.id > current.id) this.latest.set(event.device_id, event);
    }
    this.emit("events", fresh);
    return fresh;
  }

  setLatest(event) {
    const current = this.latest.get(event.device_id);
    if (!current || event.id > current.id) this.latest.set(event.device_id, event);
  }

  /** An alert from the stream or an acknowledge answer: open, or acknowledged. */
  upsertAlert(alert) {
    if (this.liveDuringSync) this.liveDuringSync.push(["alert", alert]);
    this.applyAlert(alert);
    this.emit("alerts", alert);
  }

  applyAlert(alert) {
    if (alert.acknowledged_at) {
      this.openAlerts.delete(alert.id);
      this.acknowledged = [alert, ...this.acknowledged.filter((a) => a.id !== alert.id)];
    } else {
      this.openAlerts.set(alert.id, alert);
    }
  }

  openAlertFor(deviceId) {
    for (const alert of this.openAlerts.values()) {
      if (alert.device_id === deviceId) return alert;
    }
    return null;
  }
}
