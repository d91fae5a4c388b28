# ruff: noqa: E501 (the edits quote the solution's lines as they are)
"""vit_fashion_mnist's verdict corpus: correct-but-different variants (full marks) and wrong ones (the broken
question loses what the mistake costs), each one change to the solution.

Questions and their points: prenorm 2 (fn(LayerNorm(x)) on three shapes 0.5 each, keyword arguments 0.5),
feedforward 2 (shapes 0.5 x 2, the numbers 1), attention 3.5 (the equations on three shapes 0.5 each, torch's
scaled_dot_product_attention 1, rows summing to one 0.5, one full-width head without projection 0.5), transformer 3
(its own forward 0.5, shapes 0.5 x 2, layers of their own 0.5, the numbers at depth 3 1), vit_forward 6 (shapes
0.25 x 6, positions 1, the class token used 1, the patch-size check 1, the numbers with cls 1 and mean 0.5 pooling),
param_count 2, train_epoch 2, evaluate 2.5, accuracy_threshold 3. The Transformer is judged around the reference's
blocks and the ViT around the reference's Transformer, so a mistake in a block costs that block's question; the
parameter count and the learning check are the whole model's.
"""

from variants import Variant

# -- pieces of the solution that the edits change ---------------------------------------------------------

QKV_SPLIT = '''        qkv = self.to_qkv(x).chunk(3, dim=-1)                                    # 3 x (b, n, h*d)
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in qkv)'''
DOTS = '''        dots = einsum("b h i d, b h j d -> b h i j", q, k) * self.scale         # (b, h, n, n)'''
MIX = '''        out = einsum("b h i j, b h j d -> b h i d", attn, v)                    # (b, h, n, d)
        out = rearrange(out, "b h n d -> b n (h d)")'''
TO_OUT = '''        self.to_out = nn.Sequential(nn.Linear(inner_dim, dim), nn.Dropout(dropout)) if project_out else nn.Identity()'''
TO_QKV = "        self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)"
LAYERS = '''        for _ in range(depth):
            self.layers.append(nn.ModuleList([
                PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
                PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout)),
            ]))'''
BLOCK_LOOP = '''        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x'''
FF_NET = '''        self.net = nn.Sequential(
            nn.Linear(dim, hidden_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, dim),
            nn.Dropout(dropout),
        )'''
FF_FORWARD = "        return self.net(x)"
PRENORM_FORWARD = "        return self.fn(self.norm(x), **kwargs)"
CLS = '''        cls_tokens = repeat(self.cls_token, "1 1 d -> b 1 d", b=b)              # (b, 1, dim)'''
POS = "        x = x + self.pos_embedding[:, : n + 1]"
POOL = "        x = x.mean(dim=1) if self.pool == \"mean\" else x[:, 0]                   # (b, dim)"
ASSERT = '''        assert image_height % patch_height == 0 and image_width % patch_width == 0, \\
            "Image dimensions must be divisible by the patch size."'''
PATCHES = '''            Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_height, p2=patch_width),'''

VARIANTS = [
    # -- correct, written another way: full marks ---------------------------------------------------------
    Variant("bv-ok_attention_separate_projections", "one Linear each for queries, keys and values is to_qkv cut in "
            "three",
            edits=((TO_QKV, "        self.to_q = nn.Linear(dim, inner_dim, bias=False)\n"
                            "        self.to_k = nn.Linear(dim, inner_dim, bias=False)\n"
                            "        self.to_v = nn.Linear(dim, inner_dim, bias=False)"),
                   (QKV_SPLIT, '''        q, k, v = (rearrange(f(x), "b n (h d) -> b h n d", h=self.heads)
                   for f in (self.to_q, self.to_k, self.to_v))'''))),
    Variant("bv-ok_attention_view_transpose", "view and transpose split and merge the heads as rearrange does",
            edits=((QKV_SPLIT, '''        b, n, _ = x.shape
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in self.to_qkv(x).chunk(3, dim=-1))'''),
                   (MIX, '''        out = einsum("b h i j, b h j d -> b h i d", attn, v)
        out = out.transpose(1, 2).reshape(b, n, -1)'''))),
    Variant("bv-ok_attention_matmul_sqrt", "q @ k^T / sqrt(dim_head) and attn @ v are the two einsums and the scale",
            edits=((DOTS, "        dots = torch.matmul(q, k.transpose(-1, -2)) / q.shape[-1] ** 0.5"),
                   ('        out = einsum("b h i j, b h j d -> b h i d", attn, v)                    # (b, h, n, d)',
                    "        out = attn @ v"))),
    Variant("bv-ok_attention_keys_first_third", "which third of to_qkv serves as keys is a labelling of its rows",
            edits=((QKV_SPLIT, QKV_SPLIT.replace("q, k, v = ", "k, q, v = ")),)),
    Variant("bv-ok_transformer_list_comprehension", "a ModuleList built in one comprehension holds the same layers",
            edits=(("        self.layers = nn.ModuleList([])\n" + LAYERS, '''        self.layers = nn.ModuleList([
            nn.ModuleList([PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
                           PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout))])
            for _ in range(depth)
        ])'''),)),
    Variant("bv-ok_vit_cls_expand_whole_pos", "expand gives the class token to every image, as repeat does; with "
            "images of the size built for, the slice of pos_embedding is the whole table; to_latent is the identity",
            edits=((CLS, "        cls_tokens = self.cls_token.expand(b, -1, -1)"),
                   (POS, "        x = x + self.pos_embedding"),
                   ("        return self.mlp_head(self.to_latent(x))", "        return self.mlp_head(x)"))),
    Variant("bv-ok_vit_patches_by_unfold", "unfold and permute cut the same patches, pixels in the same order",
            edits=((PATCHES, "            Patches(patch_height, patch_width),"),
                   ("class ViT(nn.Module):", '''class Patches(nn.Module):
    def __init__(self, ph, pw):
        super().__init__()
        self.ph, self.pw = ph, pw

    def forward(self, img):
        b, c = img.shape[:2]
        x = img.unfold(2, self.ph, self.ph).unfold(3, self.pw, self.pw)  # (b, c, h, w, p1, p2)
        return x.permute(0, 2, 3, 4, 5, 1).reshape(b, -1, self.ph * self.pw * c)


class ViT(nn.Module):'''))),
    Variant("bv-ok_vit_mean_without_class_token", "'the mean over tokens' read as over the patch tokens",
            edits=((POOL, "        x = x[:, 1:].mean(dim=1) if self.pool == \"mean\" else x[:, 0]"),)),
    Variant("bv-ok_vit_divisible_value_error", "a ValueError refuses the size as an assert does",
            edits=((ASSERT, '''        if image_height % patch_height or image_width % patch_width:
            raise ValueError("the patch size must divide the image size")'''),)),
    Variant("bv-ok_vit_functional_emb_dropout", "F.dropout with the module's training flag is nn.Dropout",
            edits=(("        self.dropout = nn.Dropout(emb_dropout)", "        self.emb_dropout = emb_dropout"),
                   ("        x = self.dropout(x)", "        x = F.dropout(x, self.emb_dropout, self.training)"))),
    Variant("bv-ok_prenorm_norm_named_ln", "the LayerNorm's attribute name is the student's; the graders load "
            "its weights by what it holds",
            edits=(("        self.norm = nn.LayerNorm(dim)", "        self.ln = nn.LayerNorm(dim)"),
                   (PRENORM_FORWARD, "        return self.fn(self.ln(x), **kwargs)"))),
    Variant("bv-ok_feedforward_explicit_layers", "two Linears with F.relu and F.dropout in forward compute what the "
            "Sequential does",
            edits=((FF_NET, """        self.fc1 = nn.Linear(dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, dim)
        self.p = dropout"""),
                   (FF_FORWARD, """        x = F.dropout(F.relu(self.fc1(x)), self.p, self.training)
        return F.dropout(self.fc2(x), self.p, self.training)"""))),
    Variant("bv-ok_attention_scale_queries_first", "scaling q before the dot product scales every dot product",
            edits=((DOTS, """        q = q * self.scale
        dots = einsum("b h i d, b h j d -> b h i j", q, k)"""),)),
    Variant("bv-ok_transformer_indexed_layers", "layer[0] and layer[1] are the attention and feed-forward the "
            "unpacking names",
            edits=((BLOCK_LOOP, """        for layer in self.layers:
            x = layer[0](x) + x
            x = layer[1](x) + x
        return x"""),)),
    Variant("bv-ok_vit_patches_by_reshape_permute", "reshape and permute cut the patches Rearrange does, pixels in "
            "the same order",
            edits=((PATCHES, "            PatchRows(patch_height, patch_width),"),
                   ("class ViT(nn.Module):", '''class PatchRows(nn.Module):
    def __init__(self, ph, pw):
        super().__init__()
        self.ph, self.pw = ph, pw

    def forward(self, img):
        b, c, hh, ww = img.shape
        x = img.reshape(b, c, hh // self.ph, self.ph, ww // self.pw, self.pw)  # (b, c, h, p1, w, p2)
        return x.permute(0, 2, 4, 3, 5, 1).reshape(b, (hh // self.ph) * (ww // self.pw), -1)


class ViT(nn.Module):'''))),
    Variant("bv-ok_vit_patches_channels_first", "(c p1 p2) is (p1 p2 c) on one-channel images, and with more "
            "channels only a fixed relabelling of the Linear's inputs",
            edits=((PATCHES, PATCHES.replace("(p1 p2 c)", "(c p1 p2)")),)),
    Variant("bv-ok_vit_conv_patch_embedding", "Conv2d with kernel = stride = patch size is the patch cut and the "
            "Linear in one layer (ViT's own implementation); the graders load the Linear's weights into it",
            edits=(('''        self.to_patch_embedding = nn.Sequential(
            Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_height, p2=patch_width),
            nn.Linear(patch_dim, dim),
        )''', '''        self.to_patch_embedding = nn.Sequential(
            nn.Conv2d(channels, dim, kernel_size=(patch_height, patch_width), stride=(patch_height, patch_width)),
            nn.Flatten(2),
        )'''),
                   ("        x = self.to_patch_embedding(img)                                        # (b, n, dim)",
                    "        x = self.to_patch_embedding(img).transpose(1, 2)"))),
    Variant("bv-ok_vit_cls_by_select", "x.select(1, 0) is x[:, 0]",
            edits=((POOL, "        x = x.mean(dim=1) if self.pool == \"mean\" else x.select(1, 0)"),)),
    # -- wrong: the question the mistake is in loses what it costs -----------------------------------------
    Variant("bv-wrong_transformer_shared_layers", "one block appended depth times: the layers share their weights, so "
            "the depth-3 output differs and the seed model has one layer's parameters",
            edits=((LAYERS, '''        block = nn.ModuleList([
            PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
            PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout)),
        ])
        for _ in range(depth):
            self.layers.append(block)'''),),
            lost={"transformer": 1.5, "param_count": 2},
            says=(("transformer", "layers share their weights"), ("param_count", "share their weights"))),
    Variant("bv-wrong_transformer_first_layer_only", "the loop applies one layer and skips the rest",
            edits=(("        for attn, ff in self.layers:\n", "        for attn, ff in self.layers[:1]:\n"),),
            lost={"transformer": 1}, says=(("transformer", "Each layer once, in order"),)),
    Variant("bv-wrong_transformer_ff_before_attention", "each layer runs its feed-forward before its attention",
            edits=((BLOCK_LOOP, '''        for attn, ff in self.layers:
            x = ff(x) + x
            x = attn(x) + x
        return x'''),),
            lost={"transformer": 1}, says=(("transformer", "then x = ff(x) + x"),)),
    Variant("bv-wrong_attention_never_projects", "without to_out the heads are never mixed back into the model width",
            edits=((TO_OUT, "        self.to_out = nn.Identity()"),),
            lost={"attention": 2.5, "param_count": 2, "accuracy_threshold": 3},
            says=(("attention", "has no to_out projection"),)),
    Variant("bv-wrong_attention_softmax_not_kept", "the weights come from F.softmax, not self.attend, so they "
            "cannot be read as the notebook asks",
            edits=(("        attn = self.attend(dots)", "        attn = F.softmax(dots, dim=-1)"),),
            lost={"attention": 0.5}, says=(("attention", "self.attend was never called"),)),
    Variant("bv-wrong_feedforward_gelu", "GELU is not the ReLU the notebook asks for",
            edits=(("            nn.ReLU(),\n            nn.Dropout(dropout),",
                    "            nn.GELU(),\n            nn.Dropout(dropout),"),),
            lost={"feedforward": 1}, says=(("feedforward", "Linear(dim, hidden_dim), ReLU"),)),
    Variant("bv-wrong_prenorm_after", "normalising fn's output is post-norm, not PreNorm; it still passes kwargs "
            "through to fn, which earns that check's 0.5",
            edits=((PRENORM_FORWARD, "        return self.norm(self.fn(x, **kwargs))"),),
            lost={"prenorm": 1.5}, says=(("prenorm", "Normalise x with nn.LayerNorm(dim), then apply fn"),)),
    Variant("bv-wrong_vit_no_positions", "the positional embedding is made but never added",
            edits=((POS, "        pass"),),
            lost={"vit_forward": 1.5}, says=(("vit_forward", "+ pos_embedding"),)),
    Variant("bv-wrong_vit_pool_ignored", "pool='mean' still classifies the class token",
            edits=((POOL, "        x = x[:, 0]"),),
            lost={"vit_forward": 0.5}, says=(("vit_forward", "the mean of the transformer's output over the tokens"),)),
    Variant("bv-wrong_prenorm_never_normalises", "the LayerNorm is made but never applied; kwargs still reach fn",
            edits=((PRENORM_FORWARD, "        return self.fn(x, **kwargs)"),),
            lost={"prenorm": 1.5}, says=(("prenorm", "Normalise x with nn.LayerNorm(dim)"),)),
    Variant("bv-wrong_feedforward_no_activation", "without the ReLU the two Linears are one linear map",
            edits=(("            nn.ReLU(),\n            nn.Dropout(dropout),", "            nn.Dropout(dropout),"),),
            lost={"feedforward": 1}, says=(("feedforward", "Linear(dim, hidden_dim), ReLU"),)),
    Variant("bv-wrong_attention_scaled_by_dim", "the dot products are scaled by the model width, not dim_head (the "
            "same number only when dim_head == dim, as in the learning check's model)",
            edits=((DOTS, '''        dots = einsum("b h i d, b h j d -> b h i j", q, k) / x.shape[-1] ** 0.5'''),),
            lost={"attention": 2.5}, says=(("attention", "(dim, the model width); scale them by dim_head ** -0.5"),)),
    Variant("bv-wrong_attention_merge_without_transpose", "reshaping (b, h, n, d) straight to (b, n, h*d) mixes "
            "tokens into one another's rows",
            edits=((MIX, '''        out = einsum("b h i j, b h j d -> b h i d", attn, v)
        out = out.reshape(x.shape[0], x.shape[1], -1)'''),),
            lost={"attention": 2.5}, says=(("attention", "without moving the heads"),)),
    Variant("bv-wrong_attention_softmax_over_heads", "nn.Softmax(dim=1) normalises over the heads, not the keys; "
            "the whole model then learns nothing much (34%)",
            edits=(("        self.attend = nn.Softmax(dim=-1)", "        self.attend = nn.Softmax(dim=1)"),),
            lost={"attention": 3, "accuracy_threshold": 3}, says=(("attention", "softmax runs over the heads"),)),
    Variant("bv-wrong_attention_sdpa_weights_not_kept", "F.scaled_dot_product_attention gives the right output but "
            "never forms the weights the notebook asks to keep in self.attend (as with F.softmax above)",
            edits=((DOTS + "\n        attn = self.attend(dots)\n" + MIX.split("\n")[0],
                    "        out = F.scaled_dot_product_attention(q, k, v)"),),
            lost={"attention": 0.5}, says=(("attention", "self.attend was never called"),)),
    Variant("bv-wrong_transformer_no_residuals", "without the residual connections each block replaces x, and the "
            "whole model learns next to nothing (18%)",
            edits=((BLOCK_LOOP, """        for attn, ff in self.layers:
            x = attn(x)
            x = ff(x)
        return x"""),),
            lost={"transformer": 1, "accuracy_threshold": 3}, says=(("transformer", "residual connections are missing"),)),
    Variant("bv-wrong_vit_cls_never_prepended", "the class token is made but never prepended, so pool='cls' reads the "
            "first patch",
            edits=((CLS + "\n        x = torch.cat((cls_tokens, x), dim=1)                                    # (b, n + 1, dim)\n" + POS,
                    "        x = x + self.pos_embedding[:, :n]"),),
            lost={"vit_forward": 2.5}, says=(("vit_forward", "prepend the class token"),)),
    Variant("bv-wrong_vit_patches_strided", "(p1 h) (p2 w) gathers pixels 7 apart into a token: not patches, and "
            "the model learns far less (47%)",
            edits=((PATCHES, PATCHES.replace("(h p1) (w p2)", "(p1 h) (p2 w)")),),
            lost={"vit_forward": 1.5, "accuracy_threshold": 3}, says=(("vit_forward", "to_patch_embedding"),)),
]

# -- training judged by effect (class 1, 4) ----------------------------------------------------------------------
# train_epoch runs on the graders' probe with plain SGD and is replayed on the host; evaluate earns its "changes
# nothing" point only with figures that show it measured (gradekit.shared_checks).

TRAIN_STEP = """        optimizer.zero_grad()
        loss = F.nll_loss(F.log_softmax(model(data), dim=1), target)
        loss.backward()
        optimizer.step()
"""

TRAINING_BY_EFFECT = [
    Variant("tr-ok_train_epoch_model_zero_grad", "model.zero_grad() clears the same parameters the optimizer holds",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("optimizer.zero_grad()", "model.zero_grad()")),)),
    Variant("tr-ok_train_epoch_cross_entropy", "F.cross_entropy is log_softmax followed by nll_loss",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("F.nll_loss(F.log_softmax(model(data), dim=1), target)",
                                                   "F.cross_entropy(model(data), target)")),)),
    Variant("tr-ok_train_epoch_logs_after_every_100_batches",
            "'every 100 batches' read as after batch 100, 200, ...: the loss of every 100th batch all the same",
            edits=(("        if i % 100 == 0:\n            loss_history.append(loss.item())",
                    "        if (i + 1) % 100 == 0:\n            loss_history.append(loss.item())"),)),
    Variant("tr-ok_train_epoch_zero_grad_set_to_none", "set_to_none=True clears the gradients as zeros do",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("optimizer.zero_grad()", "optimizer.zero_grad(set_to_none=True)")),)),
    Variant("tr-ok_train_epoch_loss_modules", "nn.NLLLoss after nn.LogSoftmax(dim=1) is the notebook's loss",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("F.nll_loss(F.log_softmax(model(data), dim=1), target)",
                                                   "nn.NLLLoss()(nn.LogSoftmax(dim=1)(model(data)), target)")),)),
    Variant("tr-ok_evaluate_inference_mode", "torch.inference_mode() computes without gradients, as no_grad does",
            edits=(("    with torch.no_grad():\n        for data, target in data_loader:",
                    "    with torch.inference_mode():\n        for data, target in data_loader:"),)),
    Variant("tr-ok_evaluate_counts_images_seen", "counting the images as they come gives len(dataset); eq().sum() "
            "counts the right predictions",
            edits=(("""            correct += (output.argmax(dim=1) == target).sum().item()
    n = len(data_loader.dataset)""", """            correct += output.argmax(dim=1, keepdim=True).eq(target.view(-1, 1)).sum().item()
            seen += len(target)
    n = seen"""), ("    total_loss, correct = 0.0, 0\n", "    total_loss, correct, seen = 0.0, 0, 0\n"))),
    Variant("tr-ok_evaluate_cross_entropy_sum", "cross_entropy summed is nll_loss of log_softmax summed; the argmax "
            "of the logits is the argmax of their log_softmax",
            edits=(("""            output = F.log_softmax(model(data), dim=1)
            total_loss += F.nll_loss(output, target, reduction="sum").item()""",
                    """            output = model(data)
            total_loss += F.cross_entropy(output, target, reduction="sum").item()"""),)),
    Variant("tr-wrong_train_epoch_no_zero_grad", "without zero_grad each step uses the sum of every gradient so far",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("        optimizer.zero_grad()\n", "")),),
            lost={"train_epoch": 1, "accuracy_threshold": 3},
            says=(("train_epoch", "the gradients add up across batches"),)),
    Variant("tr-wrong_train_epoch_no_log_softmax", "nll_loss of raw outputs is not the cross-entropy of the classes",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("F.log_softmax(model(data), dim=1)", "model(data)")),),
            lost={"train_epoch": 1, "accuracy_threshold": 3},
            says=(("train_epoch", "apply F.log_softmax(..., dim=1) first"),)),
    Variant("tr-wrong_vit_evaluate_returns_constants",
            "an evaluate that measures nothing earns nothing for changing nothing",
            edits=(("    model.eval()\n    total_loss, correct = 0.0, 0\n",
                    "    return 2.3, 0.1\n    model.eval()\n    total_loss, correct = 0.0, 0\n"),),
            lost={"evaluate": 2.5}, says=(("evaluate", "evaluate never called the model"),)),
    Variant("tr-wrong_train_epoch_no_train_mode", "without model.train() a model left in eval mode trains without "
            "its dropout",
            edits=(("    model.train()\n    for i, (data, target) in enumerate(data_loader):\n",
                    "    for i, (data, target) in enumerate(data_loader):\n"),),
            lost={"train_epoch": 0.5}, says=(("train_epoch", "call model.train()"),)),
    Variant("tr-wrong_train_epoch_step_before_backward", "optimizer.step() before loss.backward() steps on cleared "
            "gradients: nothing ever trains",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("        loss.backward()\n        optimizer.step()\n",
                                                   "        optimizer.step()\n        loss.backward()\n")),),
            lost={"train_epoch": 1.5, "accuracy_threshold": 3},
            says=(("train_epoch", "no weight changed"),)),
    Variant("tr-wrong_evaluate_no_eval_mode", "without model.eval() dropout stays on while evaluating",
            edits=(("    model.eval()\n    total_loss, correct = 0.0, 0\n", "    total_loss, correct = 0.0, 0\n"),),
            lost={"evaluate": 1}, says=(("evaluate", "call model.eval() first"),)),
    Variant("tr-wrong_evaluate_batch_means_over_images", "the batch means summed and divided by the number of images "
            "is not the loss per image",
            edits=(("            total_loss += F.nll_loss(output, target, reduction=\"sum\").item()",
                    "            total_loss += F.nll_loss(output, target).item()"),),
            lost={"evaluate": 1.5}, says=(("evaluate", "reduction=\"sum\""),)),
    Variant("tr-wrong_evaluate_accuracy_percent", "a percentage is not the fraction between 0 and 1 the notebook asks",
            edits=(("    return total_loss / n, correct / n", "    return total_loss / n, 100.0 * correct / n"),),
            lost={"evaluate": 1.5}, says=(("evaluate", "a fraction between 0 and 1"),)),
]

VARIANTS += TRAINING_BY_EFFECT
