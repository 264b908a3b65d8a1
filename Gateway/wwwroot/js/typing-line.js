// The "… is typing" line under the log: each person's hint shows for about 5 s after their last one
// (PROTOCOL.md, "Typing"), and a message from them ends it at once.

const SHOW_MS = 5000;

export class TypingLine {
  constructor(element) {
    this.element = element;
    this.people = new Map(); // name -> timer
  }

  typing(name) {
    clearTimeout(this.people.get(name));
    this.people.set(name, setTimeout(() => this.stopped(name), SHOW_MS));
    this.render();
  }

  stopped(name) {
    clearTimeout(this.people.get(name));
    if (this.people.delete(name)) this.render();
  }

  clear() {
    for (const timer of this.people.values()) clearTimeout(timer);
    this.people.clear();
    this.render();
  }

  render() {
    const names = [...this.people.keys()];
    this.element.textContent = names.length === 0 ? ''
      : names.length === 1 ? `${names[0]} is typing…`
        : names.length === 2 ? `${names[0]} and ${names[1]} are typing…`
          : 'Several people are typing…';
  }
}
