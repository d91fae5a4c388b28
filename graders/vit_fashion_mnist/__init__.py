"""The graders of vit_fashion_mnist: pytest checks collected as the package `graders.vit_fashion_mnist`."""
