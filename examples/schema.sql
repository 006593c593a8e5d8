CREATE TABLE customers (
    customer_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name STRING NOT NULL,
    email STRING UNIQUE,
    created_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE orders (
    order_id INT8 PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers (customer_id),
    total DECIMAL(10,2) NOT NULL,
    status STRING DEFAULT 'pending',
    ordered_at TIMESTAMPTZ DEFAULT now()
);
