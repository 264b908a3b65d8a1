// The chat protocol client (PROTOCOL.md, with both "Extensions" parts), with no DOM in it: any page,
// a bot or a test can use it. It owns one room session at a time: the socket and its reconnects
// (exponential backoff with jitter), the resume (`since`: only the gap comes back, and what came twice is
// dropped by timestamp), the outbox (every message has an `id` and is sent again after a reconnect
// until its echo arrives; the room stores an id once), the capabilities it asks for, the typing throttle,
// and every frame, each turned into one event. It never renders anything.
//
//   const client = new ChatClient({ baseUrl: location.origin });
//   client.addEventListener('message', (e) => show(e.detail));
//   client.join('general', 'Ada', token);
//   client.send('hello');
//
// Events (CustomEvent, the data in `detail`): status {state}, message {name, message, timestamp, id?, user?,
// editedAt?, reactions?, live}, joined / quit {name, user?, live}, ready {first, reconnected}, resumed
// {complete}, caps {caps}, error {text, final, refused?}, deleted {timestamp}, typing {name, user?}, edited
// {timestamp, message, editedAt}, reactions {timestamp, counts}, presence {entries} (the whole list) or
// {entry} (one change; sockets 0: gone), stopped {why, reason} (reconnecting cannot help: 'name', 'final',
// 'unknown-room'), lost {} (the connection dropped; it reconnects by itself).

export const CAPS = ['typing', 'reactions', 'edits', 'presence'];
export const TYPING_INTERVAL_MS = 3000; // the server counts one hint per 3 s (PROTOCOL.md, "Typing")
export const HISTORY_LENGTH = 100;      // messages a plain join brings; fewer means the room has no older ones
export const RATE_LIMIT_ERROR = 'Your IP is being rate-limited, please try again later.';
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

// Errors after which reconnecting cannot help (the server also closes with 1008 or 1000).
const FINAL_ERRORS = new Set(['Invalid token.', 'Sign-in required.', 'Token expired.',
  'You were banned from this room.', 'This room was closed.']);

export class ChatClient extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.baseUrl  the gateway's http(s) origin (and path prefix, if any)
   * @param {typeof WebSocket} [options.WebSocket]  injectable for tests
   * @param {typeof fetch} [options.fetch]
   * @param {() => number} [options.now]  milliseconds, for the typing throttle
   * @param {() => number} [options.random]
   * @param {(fn: Function, ms: number) => any} [options.setTimeout]
   * @param {(handle: any) => void} [options.clearTimeout]
   */
  constructor(options) {
    super();
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.now = options.now ?? (() => Date.now());
    this.random = options.random ?? Math.random;
    this.setTimeout = options.setTimeout ?? globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = options.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
    this.room = null;
    this.name = '';
    this.token = null;
    this.socket = null;
    this.ready = false;
    this.caps = new Set();   // what the server enabled for this session
    this.outbox = new Map(); // id -> text, sent and not yet echoed (or typed while away)
    this.lastTimestamp = 0;  // the newest chat message delivered: resumes start after it
    this.attempt = 0;        // consecutive failed connections, for the backoff
    this.finalError = null;
    this.lastError = null;
    this.lastSent = null;    // {id, text} of the last message sent, given back if the rate limit refuses it
    this.welcomed = false;
    this.lost = false;       // between a drop and the next ready
    this.nextTypingAt = 0;
    this.reconnectTimer = null;
  }

  /** Joins `room` as `name` (signed in with `token`, when given); leaves the room it was in. */
  join(room, name, token) {
    this.leave();
    this.room = room;
    this.name = name;
    this.token = token || null;
    this.lastTimestamp = 0;
    this.outbox.clear();
    this.welcomed = false;
    this.lost = false;
    this.finalError = null;
    this.lastError = null;
    this.attempt = 0;
    this.connect();
  }

  /** Leaves the room: the socket closes, and nothing reconnects. */
  leave() {
    this.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const socket = this.socket;
    this.socket = null; // from now on its events are ignored
    this.ready = false;
    if (socket && socket.readyState <= 1) socket.close(1000, 'Leaving');
  }

  /** Queues a message: sent now when the session is ready, else as soon as it is. Returns its id. */
  send(text) {
    const id = newId();
    this.outbox.set(id, text);
    return { id, sent: this.sendMessage(id, text) };
  }

  /** A typing hint: at most one per TYPING_INTERVAL_MS goes out (the server drops the others anyway). */
  typing() {
    const now = this.now();
    if (!this.caps.has('typing') || now < this.nextTypingAt || !this.sendFrame({ typing: true })) return false;
    this.nextTypingAt = now + TYPING_INTERVAL_MS;
    return true;
  }

  edit(timestamp, message) { return this.sendFrame({ edit: timestamp, message }); }

  react(timestamp, emoji) { return this.sendFrame({ react: timestamp, emoji }); }

  remove(timestamp) { return this.sendFrame({ delete: timestamp }); }

  /** A fresh token of the same user, for a session that stays open past its token's expiry. */
  refreshToken(token) {
    this.token = token;
    return this.sendFrame({ token });
  }

  /** Scrollback: the `limit` messages before `before`, oldest first. */
  async loadOlder(before, limit) {
    const room = this.room;
    const response = await this.fetch(`${this.baseUrl}/api/room/${encodeURIComponent(room)}/messages?before=${before}&limit=${limit}`);
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const { messages } = await response.json();
    return room === this.room ? messages : [];
  }

  /** The rooms directory: public rooms with members now, busiest first. */
  async listRooms(limit = 50) {
    const response = await this.fetch(`${this.baseUrl}/api/rooms?limit=${limit}`);
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const { rooms } = await response.json();
    return Array.isArray(rooms) ? rooms : [];
  }

  /** Back online: no need to wait out the backoff. */
  reconnectNow() {
    if (this.reconnectTimer) this.connect();
  }

  // ---- The socket ----------------------------------------------------------------------

  connect() {
    this.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const url = this.baseUrl.replace(/^http/, 'ws') + '/api/room/' + encodeURIComponent(this.room) + '/websocket';
    const socket = new this.WebSocket(url);
    this.socket = socket;
    this.ready = false;
    this.emit('status', { state: this.lost ? 'reconnecting' : 'connecting' });
    socket.addEventListener('open', () => {
      if (socket !== this.socket) return;
      // Back after a drop: ask only for what came after the newest message delivered.
      const hello = { name: this.name, caps: CAPS };
      if (this.lastTimestamp > 0) hello.since = this.lastTimestamp;
      if (this.token) hello.token = this.token;
      this.emit('open', {});
      socket.send(JSON.stringify(hello));
    });
    socket.addEventListener('message', (event) => {
      if (socket === this.socket) this.onFrame(event.data);
    });
    socket.addEventListener('close', (event) => {
      if (socket === this.socket) this.onClose(event);
    });
  }

  onClose(event) {
    this.socket = null;
    this.ready = false;
    const nameRefused = event.code === 1009 || (event.code === 1008 && /name/i.test(event.reason || ''));
    if (nameRefused) {
      // Reconnecting with the same name would be refused again.
      this.stop('name', (event.reason || 'the server refused this name').replace(/\.$/, ''));
    } else if (this.finalError) {
      // Banned, signed out, or the room was closed: the same join would be refused again.
      this.stop('final', this.finalError);
    } else if (this.lastError === 'Unknown private room.') {
      // The server never minted this id (a mistyped or forged link): retrying cannot help.
      this.stop('unknown-room', this.lastError);
    } else {
      if (!this.lost) {
        this.lost = true;
        this.emit('lost', {});
      }
      this.scheduleReconnect();
    }
  }

  stop(why, reason) {
    this.emit('status', { state: 'disconnected' });
    this.emit('stopped', { why, reason });
  }

  scheduleReconnect() {
    // Exponential backoff with "equal jitter": a random delay in [base/2, base], so that many clients
    // dropped at the same moment do not all come back at the same moment.
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = base / 2 + this.random() * (base / 2);
    this.attempt += 1;
    this.emit('status', { state: 'reconnecting', retryInMs: delay });
    this.reconnectTimer = this.setTimeout(() => this.connect(), delay);
  }

  sendFrame(frame) {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1 || !this.ready) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  sendMessage(id, text) {
    if (!this.sendFrame({ message: text, id })) return false;
    this.lastSent = { id, text };
    return true;
  }

  // ---- Server frames -------------------------------------------------------------------

  onFrame(raw) {
    let data;
    try { data = JSON.parse(raw); } catch { return; }
    if (!data || typeof data !== 'object') return;
    const live = this.ready;
    if (typeof data.error === 'string') this.onError(data.error);
    else if ('deleted' in data) this.emit('deleted', { timestamp: Number(data.deleted) });
    else if ('joined' in data) this.emit('joined', { name: String(data.joined), user: userOf(data), live });
    else if ('quit' in data) this.emit('quit', { name: String(data.quit), user: userOf(data), live });
    else if (data.ready === true) this.onReady();
    else if (typeof data.resumed === 'boolean') this.emit('resumed', { complete: data.resumed });
    else if (Array.isArray(data.caps)) {
      this.caps = new Set(data.caps.filter((cap) => typeof cap === 'string'));
      this.emit('caps', { caps: [...this.caps] });
    } else if ('typing' in data) this.emit('typing', { name: String(data.typing), user: userOf(data) });
    else if ('edited' in data) this.emit('edited', { timestamp: Number(data.edited), message: String(data.message), editedAt: Number(data.editedAt) });
    else if ('counts' in data) this.emit('reactions', { timestamp: Number(data.reactions), counts: countsOf(data.counts) });
    else if (Array.isArray(data.presence)) this.emit('presence', { entries: data.presence.map(entryOf) });
    else if (data.presence && typeof data.presence === 'object') this.emit('presence', { entry: entryOf(data.presence) });
    else if ('message' in data) this.onMessage(data, live);
  }

  onReady() {
    this.ready = true;
    // Reset the backoff only now: a server that accepts the socket and closes it right away (error and
    // 1011) must not make us retry at full speed.
    this.attempt = 0;
    this.lastError = null;
    const first = !this.welcomed;
    const reconnected = this.lost;
    this.welcomed = true;
    this.lost = false;
    this.emit('status', { state: 'connected' });
    this.emit('ready', { first, reconnected });
    // What was sent but never echoed (the socket dropped), and what was typed while away, goes (again)
    // with the same ids: the room stores each id once, so nothing arrives twice.
    for (const [id, text] of this.outbox) this.sendMessage(id, text);
  }

  onMessage(data, live) {
    const timestamp = Number(data.timestamp);
    if (typeof data.id === 'string') this.outbox.delete(data.id);
    // History comes again on every reconnect: only messages newer than the last one delivered count.
    if (!Number.isFinite(timestamp) || timestamp <= this.lastTimestamp) return;
    this.lastTimestamp = timestamp;
    this.emit('message', {
      name: String(data.name ?? ''),
      message: String(data.message),
      timestamp,
      id: typeof data.id === 'string' ? data.id : undefined,
      user: userOf(data),
      editedAt: Number.isFinite(data.editedAt) ? data.editedAt : undefined,
      reactions: data.reactions ? countsOf(data.reactions) : undefined,
      live,
    });
  }

  onError(text) {
    const final = FINAL_ERRORS.has(text);
    if (final) this.finalError = text;
    let refused;
    if (text === RATE_LIMIT_ERROR && this.lastSent) {
      // The refused message is (almost always) the last one sent: it leaves the outbox, and the page may
      // give it back to the user.
      refused = this.lastSent;
      this.outbox.delete(refused.id);
      this.lastSent = null;
    }
    // While the connection keeps failing, the same error would come back with every attempt.
    const repeated = !this.ready && text === this.lastError;
    this.lastError = text;
    if (!repeated || refused) this.emit('error', { text, final, refused });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** A message's reaction counts as [emoji, count] pairs, in the server's order. */
function countsOf(counts) {
  if (!counts || typeof counts !== 'object') return [];
  return Object.entries(counts).filter(([, n]) => Number.isFinite(n) && n > 0);
}

function entryOf(entry) {
  return { name: String(entry?.name ?? ''), user: userOf(entry ?? {}), sockets: Number(entry?.sockets) || 0 };
}

function userOf(data) {
  return typeof data.user === 'string' ? data.user : undefined;
}

function newId() {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
