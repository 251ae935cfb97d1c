// Opcodes of src/native/elementwise.cc; the two lists must stay in the same order.
export const Binary = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6 } as const;
export const Unary = {
  Relu: 0, Exp: 1, Log: 2, Sigmoid: 3, Tanh: 4, Neg: 5, Sqrt: 6, Rsqrt: 7, Square: 8, Abs: 9, Step: 10,
  Softplus: 11, Reciprocal: 12, Log1p: 13,
} as const;
export const Reduce = { Sum: 0, Max: 1, Min: 2, Mean: 3 } as const;
