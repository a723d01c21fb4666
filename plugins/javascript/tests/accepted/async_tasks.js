const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function worker(name, ms, log) {
  await sleep(ms);
  log.push(name);
  return name.length;
}

async function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const log = [];
  const sizes = await Promise.all([worker("slow", 30, log), worker("fast", 10, log), worker("medium", 20, log)]);
  console.log(log, sizes);
  const settled = await Promise.allSettled([Promise.resolve(1), Promise.reject(new Error("nope"))]);
  console.log(settled.map((s) => s.status));
  try {
    await withTimeout(sleep(200), 20);
  } catch (e) {
    console.log("caught:", e.message);
  }
  queueMicrotask(() => console.log("microtask"));
  setImmediate(() => console.log("immediate"));
  await sleep(5);
}

main().then(() => console.log("done"));
