class Shape {
  #id;
  static count = 0;

  constructor(name) {
    this.name = name;
    this.#id = ++Shape.count;
  }

  get id() {
    return this.#id;
  }

  area() {
    throw new Error("not implemented");
  }

  toString() {
    return `${this.constructor.name}#${this.id}(${this.area().toFixed(2)})`;
  }
}

class Circle extends Shape {
  constructor(r) {
    super("circle");
    this.r = r;
  }
  area() {
    return Math.PI * this.r ** 2;
  }
}

class Rect extends Shape {
  constructor(w, h) {
    super("rect");
    Object.assign(this, { w, h });
  }
  area() {
    return this.w * this.h;
  }
  clone() {
    return new Rect(this.w, this.h);
  }
}

const shapes = [new Circle(1), new Rect(2, 3), new Rect(1, 1).clone()];
shapes.sort((a, b) => a.area() - b.area());
console.log(shapes.map(String).join(" "));
console.log(shapes.every((s) => s instanceof Shape), Object.getPrototypeOf(shapes[0]) === Rect.prototype);
