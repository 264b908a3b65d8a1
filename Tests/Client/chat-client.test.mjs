// The page's protocol client (Gateway/wwwroot/js/chat-client.js) on its own: a fake WebSocket and a fake
// clock, no browser, no server. Run by Tests/Fast/ChatClientModuleTests.cs (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPS, ChatClient, RATE_LIMIT_ERROR, TYPING_INTERVAL_MS } from '../../Gateway/wwwroot/js/chat-client.js';

/** A WebSocket that records what the client sends and lets the test play the server. */
class FakeSocket extends EventTarget {
  static all = [];
  constructor(url) {
    super();
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.all.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code, reason) { this.readyState = 3; this.closedWith = { code, reason }; }
  open() { this.readyState = 1; this.dispatchEvent(new Event('open')); }
  frame(data) { this.dispatchEvent(Object.assign(new Event('message'), { data: JSON.stringify(data) })); }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason }));
  }
}

function setup() {
  FakeSocket.all = [];
  const timers = [];
  let now = 1_000;
  const client = new ChatClient({
    baseUrl: 'http://chat.test/',
    WebSocket: FakeSocket,
    fetch: async (url) => ({ ok: true, json: async () => (url.includes('/api/rooms') ? { rooms: [{ name: 'general', members: 3 }] } : { messages: [] }) }),
    now: () => now,
    random: () => 0.5,
    setTimeout: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    clearTimeout: () => {},
  });
  const events = [];
  for (const type of ['status', 'message', 'joined', 'quit', 'ready', 'resumed', 'caps', 'error', 'deleted', 'typing', 'edited', 'reactions', 'presence', 'stopped', 'lost']) {
    client.addEventListener(type, (e) => events.push([type, e.detail]));
  }
  return {
    client, events, timers,
    socket: () => FakeSocket.all.at(-1),
    advance: (ms) => { now += ms; },
    of: (type) => events.filter(([t]) => t === type).map(([, d]) => d),
  };
}

function joinReady(t, { caps = CAPS } = {}) {
  const socket = t.socket();
  socket.open();
  socket.frame({ joined: 'ann' });
  socket.frame({ name: 'ann', message: 'history', timestamp: 10 });
  socket.frame({ joined: 'Ada', user: 'ada' });
  socket.frame({ caps });
  socket.frame({ ready: true });
  return socket;
}

test('the name frame carries the name, every capability and the token, on the room socket', () => {
  const t = setup();
  t.client.join('general', 'Ada', 'a.b.c');
  assert.equal(t.socket().url, 'ws://chat.test/api/room/general/websocket');
  t.socket().open();
  assert.deepEqual(t.socket().sent[0], { name: 'Ada', caps: ['typing', 'reactions', 'edits', 'presence'], token: 'a.b.c' });
});

test('frames become events, history before ready is not live, and the caps answer is kept', () => {
  const t = setup();
  t.client.join('general', 'Ada');
  joinReady(t, { caps: ['typing', 'edits'] });
  t.socket().frame({ name: 'bob', message: 'live', timestamp: 11, user: 'bob', editedAt: 12, reactions: { '👍': 2 } });
  assert.deepEqual(t.of('message').map((m) => [m.message, m.live]), [['history', false], ['live', true]]);
  const live = t.of('message')[1];
  assert.equal(live.user, 'bob');
  assert.equal(live.editedAt, 12);
  assert.deepEqual(live.reactions, [['👍', 2]]);
  assert.deepEqual(t.of('joined').map((j) => [j.name, j.user]), [['ann', undefined], ['Ada', 'ada']]);
  assert.deepEqual([...t.client.caps], ['typing', 'edits']);
  assert.deepEqual(t.of('ready')[0], { first: true, reconnected: false });
});

test('each rich frame is one event', () => {
  const t = setup();
  t.client.join('general', 'Ada');
  const socket = joinReady(t);
  socket.frame({ typing: 'bob', user: 'bob' });
  socket.frame({ edited: 10, message: 'fixed', editedAt: 20 });
  socket.frame({ reactions: 10, counts: { '🎉': 1, '👍': 3 } });
  socket.frame({ reactions: 10, counts: {} });
  socket.frame({ presence: [{ name: 'Ada', user: 'ada', sockets: 2 }, { name: 'ann', sockets: 1 }] });
  socket.frame({ presence: { name: 'ann', sockets: 0 } });
  socket.frame({ deleted: 10 });
  assert.deepEqual(t.of('typing'), [{ name: 'bob', user: 'bob' }]);
  assert.deepEqual(t.of('edited'), [{ timestamp: 10, message: 'fixed', editedAt: 20 }]);
  assert.deepEqual(t.of('reactions'), [{ timestamp: 10, counts: [['🎉', 1], ['👍', 3]] }, { timestamp: 10, counts: [] }]);
  assert.deepEqual(t.of('presence'), [
    { entries: [{ name: 'Ada', user: 'ada', sockets: 2 }, { name: 'ann', user: undefined, sockets: 1 }] },
    { entry: { name: 'ann', user: undefined, sockets: 0 } },
  ]);
  assert.deepEqual(t.of('deleted'), [{ timestamp: 10 }]);
});

test('edits, reactions, deletes and typing go out as their frames, typing at most once per interval', () => {
  const t = setup();
  t.client.join('general', 'Ada');
  const socket = joinReady(t);
  t.client.edit(10, 'fixed');
  t.client.react(10, '👍');
  t.client.remove(10);
  assert.equal(t.client.typing(), true);
  assert.equal(t.client.typing(), false);
  t.advance(TYPING_INTERVAL_MS - 1);
  assert.equal(t.client.typing(), false);
  t.advance(1);
  assert.equal(t.client.typing(), true);
  assert.deepEqual(socket.sent.slice(1), [
    { edit: 10, message: 'fixed' }, { react: 10, emoji: '👍' }, { delete: 10 }, { typing: true }, { typing: true },
  ]);
});

test('no typing hints to a server that did not enable typing', () => {
  const t = setup();
  t.client.join('general', 'Ada');
  const socket = joinReady(t, { caps: [] });
  assert.equal(t.client.typing(), false);
  assert.equal(socket.sent.length, 1);
});

test('a message stays in the outbox until its echo, is sent again with the same id after a reconnect, and the resume asks for the gap only', () => {
  const t = setup();
  t.client.join('general', 'Ada');
  const first = joinReady(t);
  const { id, sent } = t.client.send('hello');
  assert.equal(sent, true);
  assert.deepEqual(first.sent[1], { message: 'hello', id });

  first.drop();
  assert.equal(t.of('lost').length, 1);
  assert.equal(t.timers.length, 1);
  t.timers[0].fn();
  const second = t.socket();
  assert.notEqual(second, first);
  second.open();
  assert.equal(second.sent[0].since, 10);
  // The history comes again: nothing twice.
  second.frame({ name: 'ann', message: 'history', timestamp: 10 });
  second.frame({ ready: true });
  assert.deepEqual(second.sent[1], { message: 'hello', id });
  assert.deepEqual(t.of('ready').at(-1), { first: false, reconnected: true });

  second.frame({ name: 'Ada', message: 'hello', timestamp: 11, id });
  assert.equal(t.client.outbox.size, 0);
  assert.deepEqual(t.of('message').map((m) => m.message), ['history', 'hello']);
});

test('a message typed while disconnected waits in the outbox and goes once the session is ready', () => {
  const t = setup();
  t.client.join('general', 'Ada');
  const { id, sent } = t.client.send('early');
  assert.equal(sent, false);
  const socket = joinReady(t);
  assert.deepEqual(socket.sent[1], { message: 'early', id });
});

test('reconnects back off exponentially with jitter and reset once ready', () => {
  const t = setup();
  t.client.join('general', 'Ada');
  t.socket().drop();
  t.timers.at(-1).fn();
  t.socket().drop();
  t.timers.at(-1).fn();
  t.socket().drop();
  assert.deepEqual(t.timers.map((x) => x.ms), [375, 750, 1500]);
  t.timers.at(-1).fn();
  joinReady(t);
  t.socket().drop();
  assert.equal(t.timers.at(-1).ms, 375);
});

test('a final error stops reconnecting, as does a refused name or an unknown private room', () => {
  for (const [frame, close, why] of [
    [{ error: 'You were banned from this room.' }, [1008, 'Banned.'], 'final'],
    [{ error: 'Name too long.' }, [1009, 'Name too long.'], 'name'],
    [{ error: 'Unknown private room.' }, [1011, ''], 'unknown-room'],
  ]) {
    const t = setup();
    t.client.join('general', 'Ada');
    t.socket().open();
    t.socket().frame(frame);
    t.socket().drop(...close);
    assert.equal(t.timers.length, 0, why);
    assert.equal(t.of('stopped')[0].why, why);
  }
});

test('a rate-limit refusal gives the refused message back and takes it out of the outbox', () => {
  const t = setup();
  t.client.join('general', 'Ada');
  const socket = joinReady(t);
  const { id } = t.client.send('too fast');
  socket.frame({ error: RATE_LIMIT_ERROR });
  assert.deepEqual(t.of('error')[0].refused, { id, text: 'too fast' });
  assert.equal(t.client.outbox.size, 0);
});

test('leaving closes the socket and ignores whatever it still says', () => {
  const t = setup();
  t.client.join('general', 'Ada');
  const socket = joinReady(t);
  t.client.leave();
  assert.equal(socket.closedWith.code, 1000);
  socket.frame({ name: 'x', message: 'late', timestamp: 99 });
  socket.drop();
  assert.equal(t.of('message').length, 1);
  assert.equal(t.timers.length, 0);
});

test('the rooms directory and scrollback are read over HTTP', async () => {
  const t = setup();
  assert.deepEqual(await t.client.listRooms(), [{ name: 'general', members: 3 }]);
  t.client.join('general', 'Ada');
  assert.deepEqual(await t.client.loadOlder(10, 50), []);
});
