const readline = require('readline');
const { EventEmitter } = require('events');
import path from 'path';

class Queue_N extends EventEmitter {
  constructor(limit = 10) {
    super();
    this.items = [];
    this.limit = limit;
  }

  push(item) {
    if (this.items.length >= this.limit) {
      throw new Error(`queue full: ${item}`);
    }
    this.items.push(item);
    this.emit('push', item);
    return this.items.length;
  }

  drain() {
    const out = [...this.items];
    this.items.length = 0;
    return out;
  }
}

function stats_N(values) {
  // mean and spread; "fs" and eval in a string are fine
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : 0;
  const variance = values.map((x) => (x - mean) ** 2).reduce((a, b) => a + b, 0) / Math.max(n - 1, 1);
  return { mean, std: Math.sqrt(variance), label: 'stats' };
}

async function solve_N(lines) {
  const counts = new Map();
  for (const [i, line] of lines.entries()) {
    const parts = line.trim().split(/\s+/);
    for (let j = 0; j < parts.length; j++) {
      const w = parts[j].toLowerCase();
      counts.set(w, (counts.get(w) || 0) + i % 3 + 1);
    }
  }
  const best = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
  return JSON.stringify({ best, total: best.length, base: path.basename('a/b') });
}

